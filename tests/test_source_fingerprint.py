"""`dinos.api.source_fingerprint` (one scandir per folder) gives the value of the `os.walk` + `os.stat` +
`os.path.relpath` walk it replaced, on trees with symlinked folders, loops and dangling links, and
changes whenever a source file does."""

from __future__ import annotations

import hashlib
import os

import pytest

from dinos.api import _AUDIO_EXTS, source_fingerprint

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symlinks")


def walk_fingerprint(data_dir) -> str:
    """The previous implementation, kept as the reference."""
    h = hashlib.sha256()
    entries = []
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(data_dir, followlinks=True):
        st_dir = os.stat(dirpath)
        if (st_dir.st_dev, st_dir.st_ino) in seen_dirs:
            dirnames.clear()
            continue
        seen_dirs.add((st_dir.st_dev, st_dir.st_ino))
        dirnames.sort()
        for name in filenames:
            if os.path.splitext(name)[1].lower() not in _AUDIO_EXTS:
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, data_dir)
            try:
                st = os.stat(full)
            except OSError:
                entries.append(f"{rel}\0missing")
                continue
            entries.append(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    for e in sorted(entries):
        h.update(e.encode("utf-8", "surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()[:20]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    for d in ("a/b", "a/c", "z"):
        (root / d).mkdir(parents=True)
    for f in ("a/b/x.wav", "a/b/y.WAV", "a/c/m.csv", "a/c/n.txt", "z/q.flac", "top.yaml", "a/b/n\udcff.wav",
              "z/.wav", "z/..wav", "z/.hidden.wav", "z/a.b.Wav", "z/noext", "z/wav"):
        (root / f).write_bytes(b"RIFF" + f.encode("utf-8", "surrogateescape"))
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "z" / "again").symlink_to(root / "a" / "b", target_is_directory=True)
    (root / "z" / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    (root / "z" / "file_link.wav").symlink_to(root / "a" / "b" / "x.wav")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.wav").write_bytes(b"o")
    (root / "ext").symlink_to(outside, target_is_directory=True)
    return root


def test_same_value_as_the_walk(tree):
    assert source_fingerprint(tree) == walk_fingerprint(tree)
    assert source_fingerprint(str(tree)) == walk_fingerprint(str(tree))
    assert source_fingerprint(tree / "a") == walk_fingerprint(tree / "a")


@pytest.mark.parametrize("change", ["add", "remove", "rewrite_same_mtime", "replace", "ignored_ext"])
def test_changes_with_the_files(tree, change):
    before = source_fingerprint(tree)
    target = tree / "a" / "b" / "x.wav"
    if change == "add":
        (tree / "a" / "c" / "new.wav").write_bytes(b"x")
    elif change == "remove":
        target.unlink()
    elif change == "rewrite_same_mtime":
        st = target.stat()
        target.write_bytes(b"RIFFa/b/x.wav")  # same size and content
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "replace":
        tmp = tree / "a" / "b" / "tmp"
        tmp.write_bytes(target.read_bytes())
        st = target.stat()
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, target)
    elif change == "ignored_ext":
        (tree / "a" / "c" / "notes.txt").write_bytes(b"x")
    assert (source_fingerprint(tree) == before) == (change == "ignored_ext")
    assert source_fingerprint(tree) == walk_fingerprint(tree)


def test_missing_folder_is_the_empty_fingerprint(tmp_path):
    assert source_fingerprint(tmp_path / "nope") == walk_fingerprint(tmp_path / "nope")
