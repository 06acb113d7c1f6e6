"""`dinos push`: upload an export directory to a Hugging Face dataset repository.

The upload is planned by a pure function (`plan_upload`) from the export's manifest and the
repository's current files, so that `--dry-run` and the tests see exactly what would be sent:
additions, replacements, unchanged files (skipped) and -- only with `delete_missing` -- deletions.
Remote files are never deleted otherwise. The shards go up through `HfApi.upload_folder` (with
`hf_xet`, a streamed multi-commit upload that an interrupted push resumes by running it again:
committed files are skipped, uploaded chunks deduplicated); the card, the manifest and any
deletions follow in one last commit, so the card appears only after the data it describes.

The token comes from the argument, `HF_TOKEN` or the usual `huggingface-cli login` store; it is
wrapped in `HubToken`, whose `repr`/`str` never show it, and it is scrubbed from any error message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import DinosError, LayoutError
from .export import read_manifest, validate_export
from .export_layout import CARD_NAME, DATA_DIR, EXPORT_MARKER

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubToken:
    """A Hub token that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """The secret, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "HubToken(***)"

    __str__ = __repr__

    def __reduce__(self):  # no pickling of the secret into logs or caches
        raise TypeError("HubToken cannot be pickled")


def resolve_token(explicit: str | None = None) -> HubToken | None:
    """The token to use: `explicit`, else `HF_TOKEN`, else the stored `huggingface-cli login` token."""
    if explicit:
        return HubToken(explicit)
    env = os.environ.get("HF_TOKEN")
    if env:
        return HubToken(env)
    try:
        from huggingface_hub import get_token
    except ImportError:  # pragma: no cover - very old huggingface_hub
        return None
    stored = get_token()
    return HubToken(stored) if stored else None


def scrub(text: str, token: HubToken | None) -> str:
    """`text` with the token (if any) replaced by `***`."""
    if token is not None and token.reveal():
        text = text.replace(token.reveal(), "***")
    return re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)


@dataclass(frozen=True)
class PlannedFile:
    local: str  # absolute local path
    path_in_repo: str
    size: int
    sha256: str = ""  # from the manifest for shards; '' for the card and the manifest


@dataclass(frozen=True)
class RemoteFile:
    """One file of the repository as listed by the Hub: its size and whichever hashes it reports."""

    path: str
    size: int | None = None
    sha256: str = ""  # LFS/xet files: sha256 of the content
    blob_id: str = ""  # regular git files: git blob sha1


def git_blob_id(data: bytes) -> str:
    """The git blob sha1 of `data` (what the Hub reports as `blob_id` of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _same(local: PlannedFile, remote: RemoteFile) -> bool:
    """True only when a hash proves the remote file equals the local one (unknown = different)."""
    if remote.size is not None and remote.size != local.size:
        return False
    if remote.sha256 and local.sha256:
        return remote.sha256 == local.sha256
    if remote.blob_id and local.size < 10 * 2**20:  # a small regular file: hash it the git way
        return git_blob_id(Path(local.local).read_bytes()) == remote.blob_id
    if remote.sha256:  # an LFS file without a manifest hash (card, manifest): hash it
        return _sha256(local.local) == remote.sha256
    return False


def _sha256(path: str) -> str:
    from .export_manifest import sha256_file

    return sha256_file(path)


@dataclass(frozen=True)
class UploadPlan:
    """What a push does: files to add (new remotely), to replace (remote content differs), left
    unchanged (same hash), and remote shards to delete (only when asked, `delete_missing`).
    `stale` are the remote Parquet files under `data/` this export does not contain, whether or not
    they are deleted; `remote_known` says whether the repository's files were listed at all."""

    repo_id: str
    revision: str | None
    files: tuple[PlannedFile, ...]
    add: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    remote_known: bool = True
    remote_error: str = ""  # why the repository could not be listed (dry run only; no token in it)
    repo_type: str = "dataset"

    @property
    def uploads(self) -> tuple[PlannedFile, ...]:
        """The files that are sent (added or replaced), in upload order."""
        send = set(self.add) | set(self.replace)
        return tuple(f for f in self.files if f.path_in_repo in send)

    @property
    def total_bytes(self) -> int:
        """Bytes sent."""
        return sum(f.size for f in self.uploads)

    def describe(self) -> str:
        """Human-readable listing, one line per file (no token, no absolute paths)."""
        size = {f.path_in_repo: f.size for f in self.files}
        where = f"https://huggingface.co/datasets/{self.repo_id}" + (f" (revision {self.revision})" if self.revision else "")
        lines = [f"push to {where}: add {len(self.add)}, replace {len(self.replace)}, unchanged "
                 f"{len(self.unchanged)}, delete {len(self.deletes)} file(s); {self.total_bytes:,} bytes to send"]
        if not self.remote_known:
            why = f" ({self.remote_error})" if self.remote_error else ""
            lines.append(f"  (the repository could not be listed{why}: every file is shown as an addition)")
        lines += [f"  add      {p}  ({size[p]:,} bytes)" for p in self.add]
        lines += [f"  replace  {p}  ({size[p]:,} bytes)" for p in self.replace]
        lines += [f"  delete   {p}  (remote shard not in this export)" for p in self.deletes]
        kept = [p for p in self.stale if p not in self.deletes]
        if kept:
            lines.append(f"  kept: {len(kept)} remote Parquet file(s) under {DATA_DIR}/ that this export does not "
                         "contain (datasets may load them with it); pass --delete-missing to delete them:")
            lines += [f"    {p}" for p in kept]
        return "\n".join(lines)


def check_repo_id(repo_id: str) -> str:
    """`repo_id` if it reads ORG/NAME; else a `DinosError`."""
    if not _REPO_ID.match(repo_id or ""):
        raise DinosError(f"repo id must read ORG/NAME, got {repo_id!r}")
    return repo_id


def local_files(export_dir: str | os.PathLike, *, validate: bool = True) -> tuple[PlannedFile, ...]:
    """The files of a valid export, in upload order (shards, then the card, then the manifest)."""
    root = Path(export_dir).resolve()
    if validate:
        problems = validate_export(root)
        if problems:
            raise LayoutError("export is not valid, nothing pushed:\n  " + "\n  ".join(problems), root)
    manifest = read_manifest(root)
    files = []
    for splits in manifest.configs.values():
        for info in splits.values():
            for shard in info.shards:
                files.append(PlannedFile(str(root / shard.path), shard.path, shard.num_bytes, shard.sha256))
    for name in (CARD_NAME, EXPORT_MARKER):
        path = root / name
        files.append(PlannedFile(str(path), name, path.stat().st_size))
    return tuple(files)


def plan_upload(export_dir: str | os.PathLike, repo_id: str, *, revision: str | None = None,
                remote_files: Iterable[str | RemoteFile] | None = None, delete_missing: bool = False,
                validate: bool = True) -> UploadPlan:
    """The plan of pushing `export_dir` to `repo_id` whose current files are `remote_files`
    (paths, or `RemoteFile`s with hashes; None = not known, every file is an addition).

    A local file is `unchanged` only when a hash proves it; a remote file at the same path is
    otherwise `replace`d. Remote Parquet files under `data/` that the export does not contain are
    `stale`; they are deleted only with `delete_missing`. No other remote file is ever deleted.
    """
    check_repo_id(repo_id)
    files = local_files(export_dir, validate=validate)
    remote = {}
    for r in remote_files or ():
        r = r if isinstance(r, RemoteFile) else RemoteFile(r)
        remote[r.path] = r
    add, replace, unchanged = [], [], []
    for f in files:
        r = remote.get(f.path_in_repo)
        (add if r is None else unchanged if _same(f, r) else replace).append(f.path_in_repo)
    ours = {f.path_in_repo for f in files}
    stale = tuple(sorted(p for p in remote if p.startswith(f"{DATA_DIR}/") and p.endswith(".parquet") and p not in ours))
    return UploadPlan(repo_id, revision, files, tuple(add), tuple(replace), tuple(unchanged), stale,
                      stale if delete_missing else (), remote_known=remote_files is not None)


def remote_listing(api, repo_id: str, *, revision: str | None = None, token: str | None = None) -> list[RemoteFile]:
    """The repository's files with sizes and hashes; [] if it does not exist yet (or the revision
    does not). Any other failure (offline, unauthorised) is raised."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        entries = list(api.list_repo_tree(repo_id, recursive=True, repo_type="dataset", revision=revision, token=token))
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return []
    out = []
    for e in entries:
        if not hasattr(e, "blob_id"):
            continue  # a folder (RepoFolder has a tree_id, no blob_id)
        lfs = getattr(e, "lfs", None)
        sha = (lfs.get("sha256") if isinstance(lfs, Mapping) else getattr(lfs, "sha256", "")) if lfs else ""
        out.append(RemoteFile(e.path, getattr(e, "size", None), sha or "", getattr(e, "blob_id", "") or ""))
    return out


def plan_operations(plan: UploadPlan) -> list:
    """`huggingface_hub` operations of the last commit: the deletions (only those asked for) and
    the card and manifest when they changed. The shards go up before it (`push_export`)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    last = {CARD_NAME, EXPORT_MARKER}
    ops: list = [CommitOperationDelete(path_in_repo=p) for p in plan.deletes]
    ops += [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=f.local)
            for f in plan.uploads if f.path_in_repo in last]
    return ops


@dataclass(frozen=True)
class PushResult:
    plan: UploadPlan
    dry_run: bool
    commit_url: str = ""


def push_export(
    export_dir: str | os.PathLike,
    repo_id: str,
    *,
    dry_run: bool = False,
    delete_missing: bool = False,
    token: str | HubToken | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    api=None,
) -> PushResult:
    """Upload an export to the dataset repository `repo_id`.

    `dry_run` plans only: it lists the repository (read-only; an offline Hub leaves every file an
    addition) and sends nothing. Otherwise the repository is created if needed (`private`), the
    changed shards are uploaded (`HfApi.upload_folder`: resumable by re-running), then one commit
    adds the card and the manifest and deletes the stale remote shards, only if `delete_missing`.
    `api` defaults to `huggingface_hub.HfApi()` (tests pass a fake).
    """
    local_files(export_dir)  # validate before touching the network
    secret = token if isinstance(token, HubToken) else resolve_token(token)
    if secret is None and not dry_run:
        raise DinosError("no Hugging Face token: run `huggingface-cli login` or set HF_TOKEN")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    reveal = secret.reveal() if secret is not None else None
    message = commit_message or "dinos export"
    try:
        if dry_run:  # read-only; a Hub that cannot be listed leaves every file an addition (said so)
            why = ""
            try:
                remote = remote_listing(api, repo_id, revision=revision, token=reveal)
            except Exception as exc:  # noqa: BLE001 - e.g. 401 on a private repository without a token
                remote, why = None, scrub(f"{type(exc).__name__}: {exc}".splitlines()[0], secret)
            plan = plan_upload(export_dir, repo_id, revision=revision, remote_files=remote,
                               delete_missing=delete_missing, validate=False)
            return PushResult(dataclasses.replace(plan, remote_error=why), True)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True, token=reveal)
        remote = remote_listing(api, repo_id, revision=revision, token=reveal)
        plan = plan_upload(export_dir, repo_id, revision=revision, remote_files=remote,
                           delete_missing=delete_missing, validate=False)
        shards = [f.path_in_repo for f in plan.uploads if f.path_in_repo.startswith(f"{DATA_DIR}/")]
        info = None
        if shards:
            info = api.upload_folder(repo_id=repo_id, folder_path=str(Path(export_dir).resolve()),
                                     allow_patterns=shards, repo_type="dataset", revision=revision,
                                     commit_message=f"{message}: {len(shards)} shard(s)", token=reveal)
        ops = plan_operations(plan)
        if ops:
            info = api.create_commit(repo_id, operations=ops, commit_message=f"{message}: card and manifest",
                                     repo_type="dataset", revision=revision, token=reveal)
    except DinosError:
        raise
    except Exception as exc:  # noqa: BLE001 - any Hub/network failure, reported without the token
        raise DinosError(f"push to {repo_id} failed: {scrub(f'{type(exc).__name__}: {exc}', secret)}") from None
    return PushResult(plan, False, str(getattr(info, "commit_url", "") or ""))
