"""`dinos push`: the plan (add / replace / unchanged / delete), deletion only with --delete-missing,
an exact dry run, a resumed push, and the token never shown. The Hub is a fake (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dinos.cli import main
from dinos.errors import DinosError, LayoutError
from dinos.export import export, read_manifest
from dinos.hub import HubToken, git_blob_id, plan_operations, plan_upload, push_export

from .conftest import make_dinos_tree

TOKEN = "hf_SecretTokenValue1234567890"
STALE = "data/vf2/train-00009.parquet"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("push")
    tree = make_dinos_tree(base / "tree", datasets=("VF2",), per_class=1)
    out = base / "hub"
    export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=str(base / "cache"), max_shard_mb=0.2)
    return out


class Entry:
    """What `HfApi.list_repo_tree` yields for a file (RepoFile: path, size, blob_id, lfs)."""

    def __init__(self, path: str, data: bytes, lfs: bool):
        self.path, self.size, self.blob_id = path, len(data), git_blob_id(data)
        self.lfs = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()} if lfs else None


class Folder:
    def __init__(self, path):
        self.path, self.tree_id = path, "f" * 40


class FakeHub:
    """A stateful fake `HfApi`: a repository's files, changed by upload_folder and create_commit."""

    def __init__(self, files: dict[str, bytes] | None = None, *, exists=True, fail_after: int | None = None):
        self.files = dict(files or {})
        self.exists, self.fail_after, self.calls = exists, fail_after, []

    def __call__(self, *a, **kw):  # monkeypatched in place of the HfApi class
        return self

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))
        self.exists = True

    def list_repo_tree(self, repo_id, **kw):
        self.calls.append(("list_repo_tree", repo_id, kw))
        if not self.exists:
            from huggingface_hub.errors import RepositoryNotFoundError

            response = type("Response", (), {"headers": {}, "request": None, "status_code": 404})()
            raise RepositoryNotFoundError("404 repository not found", response=response)
        yield Folder("data")
        for path, data in sorted(self.files.items()):
            yield Entry(path, data, lfs=path.endswith(".parquet"))

    def upload_folder(self, *, repo_id, folder_path, allow_patterns, **kw):
        self.calls.append(("upload_folder", repo_id, list(allow_patterns), kw))
        for k, path in enumerate(allow_patterns):
            if self.fail_after is not None and k >= self.fail_after:
                raise ConnectionError("connection reset by peer")
            self.files[path] = (Path(folder_path) / path).read_bytes()

    def create_commit(self, repo_id, operations, **kw):
        self.calls.append(("create_commit", repo_id, operations, kw))
        for op in operations:
            if type(op).__name__ == "CommitOperationDelete":
                del self.files[op.path_in_repo]
            else:
                self.files[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
        return type("Info", (), {"commit_url": f"https://huggingface.co/datasets/{repo_id}/commit/abc"})()

    def kinds(self):
        return [c[0] for c in self.calls]


def _remote_like(export_dir) -> dict[str, bytes]:
    """A repository holding a previous push: one shard unchanged, one changed, the card unchanged,
    the manifest changed, a stale shard, and two files that are never deleted."""
    shards = read_manifest(export_dir).shard_paths()
    assert len(shards) >= 2
    return {shards[0]: (export_dir / shards[0]).read_bytes(), shards[1]: b"older bytes",
            "README.md": (export_dir / "README.md").read_bytes(), "dinos_export.json": b"{}",
            STALE: b"stale", "data/notes.txt": b"mine", "extra.md": b"mine"}


@pytest.fixture
def hub(monkeypatch):
    import huggingface_hub

    def install(files=None, **kw):
        fake = FakeHub(files, **kw)
        monkeypatch.setattr(huggingface_hub, "HfApi", fake)
        return fake

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return install


def test_plan_classifies_every_file(export_dir):
    shards = read_manifest(export_dir).shard_paths()
    fake = FakeHub(_remote_like(export_dir))
    from dinos.hub import remote_listing

    remote = remote_listing(fake, "org/dinos")
    plan = plan_upload(export_dir, "org/dinos", remote_files=remote)
    assert [f.path_in_repo for f in plan.files] == [*shards, "README.md", "dinos_export.json"]
    assert plan.add == tuple(shards[2:])
    assert plan.replace == (shards[1], "dinos_export.json")
    assert plan.unchanged == (shards[0], "README.md")
    assert plan.stale == (STALE,) and plan.deletes == ()  # data/notes.txt, extra.md: never candidates
    assert plan_upload(export_dir, "org/dinos", remote_files=remote, delete_missing=True).deletes == (STALE,)
    assert plan.total_bytes == sum((export_dir / p).stat().st_size for p in plan.add + plan.replace)
    assert str(export_dir) not in plan.describe()
    unknown = plan_upload(export_dir, "org/dinos", remote_files=None)
    assert unknown.add == tuple(f.path_in_repo for f in plan.files) and not unknown.remote_known


def test_dry_run_lists_exactly_and_sends_nothing(export_dir, hub, capsys):
    shards = read_manifest(export_dir).shard_paths()
    size = {p: (export_dir / p).stat().st_size for p in [*shards, "dinos_export.json"]}
    fake = hub(_remote_like(export_dir))
    before = dict(fake.files)
    assert main(["push", str(export_dir), "--repo-id", "org/dinos", "--dry-run"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("dry run, nothing sent: push to https://huggingface.co/datasets/org/dinos: add "
                               f"{len(shards) - 2}, replace 2, unchanged 2, delete 0 file(s)")
    assert lines[1:] == ([f"  add      {p}  ({size[p]:,} bytes)" for p in shards[2:]]
                         + [f"  replace  {p}  ({size[p]:,} bytes)" for p in (shards[1], "dinos_export.json")]
                         + ["  kept: 1 remote Parquet file(s) under data/ that this export does not contain "
                            "(datasets may load them with it); pass --delete-missing to delete them:",
                            f"    {STALE}"])
    assert main(["push", str(export_dir), "--repo-id", "org/dinos", "--dry-run", "--delete-missing"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "delete 1 file(s)" in lines[0] and lines[-1] == f"  delete   {STALE}  (remote shard not in this export)"
    assert fake.kinds() == ["list_repo_tree", "list_repo_tree"] and fake.files == before
    assert TOKEN not in out.out + out.err


def test_push_never_deletes_without_the_flag(export_dir, hub, capsys):
    shards = read_manifest(export_dir).shard_paths()
    fake = hub(_remote_like(export_dir))
    assert main(["push", str(export_dir), "--repo-id", "org/dinos", "--private", "--quiet"]) == 0
    assert fake.kinds() == ["create_repo", "list_repo_tree", "upload_folder", "create_commit"]
    assert fake.calls[0][2]["private"] is True and fake.calls[0][2]["repo_type"] == "dataset"
    _, _, sent, kw = fake.calls[2]
    assert sent == shards[1:] and kw["repo_type"] == "dataset" and kw["token"] == TOKEN  # not the unchanged one
    ops = fake.calls[3][2]
    assert [(type(o).__name__, o.path_in_repo) for o in ops] == [("CommitOperationAdd", "dinos_export.json")]
    for kept in (STALE, "data/notes.txt", "extra.md"):
        assert kept in fake.files
    assert all(fake.files[p] == (export_dir / p).read_bytes() for p in [*shards, "README.md", "dinos_export.json"])
    assert "committed: https://huggingface.co/datasets/org/dinos/commit/abc" in capsys.readouterr().out


def test_push_deletes_stale_shards_with_the_flag(export_dir, hub):
    fake = hub(_remote_like(export_dir))
    result = push_export(export_dir, "org/dinos", delete_missing=True)
    ops = fake.calls[-1][2]
    assert [o.path_in_repo for o in ops if type(o).__name__ == "CommitOperationDelete"] == [STALE]
    assert STALE not in fake.files and "data/notes.txt" in fake.files and "extra.md" in fake.files
    assert result.plan.deletes == (STALE,) and [type(o).__name__ for o in plan_operations(result.plan)][0] == \
        "CommitOperationDelete"


def test_interrupted_push_resumes_with_what_is_missing(export_dir, hub, capsys):
    shards = read_manifest(export_dir).shard_paths()
    fake = hub({}, exists=False, fail_after=1)
    assert main(["push", str(export_dir), "--repo-id", "org/dinos"]) == 1
    assert "push to org/dinos failed: ConnectionError" in capsys.readouterr().err
    assert set(fake.files) == {shards[0]}  # the card never goes up before its data
    fake.fail_after, fake.calls = None, []
    assert main(["push", str(export_dir), "--repo-id", "org/dinos"]) == 0
    assert fake.calls[2][2] == shards[1:]
    assert sorted(fake.files) == sorted([*shards, "README.md", "dinos_export.json"])
    fake.calls = []
    assert main(["push", str(export_dir), "--repo-id", "org/dinos"]) == 0  # nothing changed: nothing sent
    assert fake.kinds() == ["create_repo", "list_repo_tree"]
    assert "add 0, replace 0, unchanged " in capsys.readouterr().out


def test_dry_run_of_a_new_repository_and_of_an_unreachable_hub(export_dir, hub, monkeypatch, capsys):
    n = len(read_manifest(export_dir).shard_paths()) + 2
    hub({}, exists=False)
    assert main(["push", str(export_dir), "--repo-id", "org/new", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"add {n}, replace 0, unchanged 0, delete 0" in out and "could not be listed" not in out
    fake = hub({})
    monkeypatch.setattr(fake, "list_repo_tree", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    assert main(["push", str(export_dir), "--repo-id", "org/new", "--dry-run"]) == 0
    assert "could not be listed (ConnectionError: offline): every file is shown as an addition" in capsys.readouterr().out


def test_errors_are_scrubbed_and_token_hidden(export_dir, hub):
    fake = hub({})

    def fail(*a, **k):
        raise RuntimeError(f"401 for Authorization: Bearer {TOKEN}")

    fake.create_repo = fail
    with pytest.raises(DinosError) as info:
        push_export(export_dir, "org/dinos")
    assert TOKEN not in str(info.value) and "***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    token = HubToken(TOKEN)
    assert TOKEN not in repr(token) + str(token) + f"{token}"


def test_refuses_invalid_export_and_bad_repo_id(export_dir, tmp_path, hub):
    with pytest.raises(DinosError, match="ORG/NAME"):
        plan_upload(export_dir, "no-slash")
    with pytest.raises(LayoutError, match="no export manifest"):
        push_export(tmp_path, "org/dinos", dry_run=True)
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(export_dir, bad)
    (bad / read_manifest(bad).shard_paths()[0]).write_bytes(b"corrupt")
    fake = hub({})
    with pytest.raises(LayoutError, match="not valid, nothing pushed"):
        push_export(bad, "org/dinos")
    assert fake.calls == []


def test_no_token_is_an_error(export_dir, hub, monkeypatch):
    fake = hub({})
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(DinosError, match="no Hugging Face token"):
        push_export(export_dir, "org/dinos")
    assert fake.calls == []
