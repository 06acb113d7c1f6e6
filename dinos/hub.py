"""`dinos push`: upload an export directory to a Hugging Face dataset repository.

The upload is planned by pure functions (`plan_upload`, `plan_operations`) so that `--dry-run`
and the tests see exactly what would be sent. The token comes from the argument, `HF_TOKEN` or
the usual `huggingface-cli login` store; it is wrapped in `HubToken`, whose `repr`/`str` never
show it, and it is scrubbed from any error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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
class UploadPlan:
    """What a push uploads (and which stale remote shards it deletes)."""

    repo_id: str
    revision: str | None
    files: tuple[PlannedFile, ...]
    deletes: tuple[str, ...] = field(default=())
    repo_type: str = "dataset"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def describe(self) -> str:
        """Human-readable listing (no token, no absolute paths)."""
        where = f"https://huggingface.co/datasets/{self.repo_id}" + (f" (revision {self.revision})" if self.revision else "")
        lines = [f"upload to {where}: {len(self.files)} file(s), {self.total_bytes:,} bytes"]
        lines += [f"  add    {f.path_in_repo}  ({f.size:,} bytes)" for f in self.files]
        lines += [f"  delete {p}  (stale shard not in this export)" for p in self.deletes]
        return "\n".join(lines)


def check_repo_id(repo_id: str) -> str:
    if not _REPO_ID.match(repo_id or ""):
        raise DinosError(f"repo id must read ORG/NAME, got {repo_id!r}")
    return repo_id


def plan_upload(export_dir: str | os.PathLike, repo_id: str, *, revision: str | None = None,
                remote_files: Iterable[str] = (), validate: bool = True) -> UploadPlan:
    """The files of a valid export, in upload order (shards, then the card, then the manifest).

    `remote_files` (the repository's current files, when known) yields deletions of Parquet files
    under `data/` that this export does not contain: they would otherwise be loaded with it.
    """
    check_repo_id(repo_id)
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
    ours = {f.path_in_repo for f in files}
    deletes = tuple(sorted(
        p for p in remote_files if p.startswith(f"{DATA_DIR}/") and p.endswith(".parquet") and p not in ours
    ))
    return UploadPlan(repo_id, revision, tuple(files), deletes)


def plan_operations(plan: UploadPlan) -> list:
    """`huggingface_hub` commit operations for a plan."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    ops: list = [CommitOperationDelete(path_in_repo=p) for p in plan.deletes]
    ops += [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=f.local) for f in plan.files]
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
    token: str | HubToken | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    api=None,
) -> PushResult:
    """Upload an export to the dataset repository `repo_id` in one commit.

    `dry_run` plans without any network access. Otherwise the repository is created if needed
    (`private`), its current files are listed to delete stale shards, and one commit adds the
    export. `api` defaults to `huggingface_hub.HfApi()` (tests pass a fake).
    """
    if dry_run:
        return PushResult(plan_upload(export_dir, repo_id, revision=revision), True)
    secret = token if isinstance(token, HubToken) else resolve_token(token)
    if secret is None:
        raise DinosError("no Hugging Face token: run `huggingface-cli login` or set HF_TOKEN")
    plan_upload(export_dir, repo_id, revision=revision)  # validate before touching the network
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True, token=secret.reveal())
        remote = api.list_repo_files(repo_id, repo_type="dataset", revision=revision, token=secret.reveal())
        plan = plan_upload(export_dir, repo_id, revision=revision, remote_files=remote, validate=False)
        info = api.create_commit(
            repo_id,
            operations=plan_operations(plan),
            commit_message=commit_message or f"dinos export: {len(plan.files)} file(s)",
            repo_type="dataset",
            revision=revision,
            token=secret.reveal(),
        )
    except DinosError:
        raise
    except Exception as exc:  # noqa: BLE001 - any Hub/network failure, reported without the token
        raise DinosError(f"push to {repo_id} failed: {scrub(f'{type(exc).__name__}: {exc}', secret)}") from None
    return PushResult(plan, False, str(getattr(info, "commit_url", "") or ""))
