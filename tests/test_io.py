"""dinos.io: atomic writes, file modes, leftovers of killed writers, and the output-folder guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from dinos import io
from dinos.errors import DinosError
from dinos.io import OUTPUT_MARKER, OutputDir, OutputError


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_new_files_get_umask_permissions_not_0600(tmp_path, umask_027):
    assert io.current_umask() == 0o027
    for name, write in (("a.txt", lambda p: io.write_text(p, "x")),
                        ("b.bin", lambda p: io.write_bytes(p, b"x")),
                        ("c.json", lambda p: io.write_json(p, {"a": 1})),
                        ("d.npy", lambda p: io.write_with(p, lambda t: np.save(t, np.arange(3))))):
        write(tmp_path / name)
        assert _mode(tmp_path / name) == 0o640, name


def test_replaced_file_keeps_its_mode(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    p.chmod(0o604)
    io.write_text(p, "new")
    assert p.read_text() == "new" and _mode(p) == 0o604


def test_text_is_utf8_with_unix_newlines(tmp_path):
    p = io.write_text(tmp_path / "sub" / "t.txt", "é\nb\n")
    assert p.read_bytes() == "é\nb\n".encode()
    assert json.loads(io.write_json(tmp_path / "j.json", {"k": "é"}).read_text("utf-8")) == {"k": "é"}


def test_writers_that_pick_the_format_from_the_suffix(tmp_path):
    """soundfile and numpy.save look at the extension: the temporary name must keep it."""
    wav = io.write_with(tmp_path / "x.wav", lambda t: sf.write(t, np.zeros(160, "float32"), 16000))
    assert sf.info(str(wav)).samplerate == 16000
    npy = io.write_with(tmp_path / "y.npy", lambda t: np.save(t, np.arange(4)))
    assert np.load(npy).tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav", "y.npy"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError), io.atomic_open(p) as fh:
        fh.write("half")
        raise RuntimeError
    with pytest.raises(DinosError, match="produced no file"):
        io.write_with(p, lambda t: None)
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_open_rejects_append(tmp_path):
    with pytest.raises(ValueError), io.atomic_open(tmp_path / "a", "a"):
        pass


def test_clean_partials_removes_dead_writers_files_only(tmp_path):
    """A writer killed mid-write leaves `.name.<pid>.<hex>.part.ext`; only files of dead processes go."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    stale = tmp_path / f".x.wav.{dead}.0123abcd.part.wav"
    stale.write_bytes(b"partial")
    mine = io.temp_name(tmp_path / "y.txt")
    mine.write_text("in progress")
    user = tmp_path / ".notes.part"
    user.write_text("a user's file")
    assert io.clean_partials(tmp_path) == [stale]
    assert mine.exists() and user.exists()


# --------------------------------------------------------------------------------------------- OutputDir
def test_output_dir_refuses_a_users_folder_whatever_overwrite(tmp_path):
    d = tmp_path / "thesis"
    d.mkdir()
    (d / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="not written by `dinos demo`"):
            OutputDir.open(d, tool="demo", overwrite=overwrite)
    assert sorted(p.name for p in d.iterdir()) == ["thesis.tex"]


def test_output_dir_file_path_and_uncreatable_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        OutputDir.open(f, tool="t")
    with pytest.raises(OutputError, match="cannot create"):
        OutputDir.open(f / "sub", tool="t")


def test_output_dir_rerun_needs_overwrite_and_replaces_only_its_files(tmp_path):
    d = tmp_path / "out"
    out = OutputDir.open(d, tool="t")
    assert out.created
    out.write_text("a.txt", "1")
    out.write_json("sub/b.json", {"x": 1})
    (d / "mine.txt").write_text("user")  # dropped in by the user afterwards
    with pytest.raises(OutputError, match="--overwrite"):
        OutputDir.open(d, tool="t")
    with pytest.raises(OutputError, match="`dinos other`|not `dinos other`"):
        OutputDir.open(d, tool="other", overwrite=True)
    again = OutputDir.open(d, tool="t", overwrite=True)
    again.write_text("a.txt", "2")
    with pytest.raises(OutputError, match="did not write"):
        again.path_for("mine.txt")
    assert again.remove_previous() == ["sub/b.json"]
    assert (d / "a.txt").read_text() == "2" and (d / "mine.txt").read_text() == "user"
    assert json.loads((d / OUTPUT_MARKER).read_text())["files"] == ["a.txt"]


def test_output_dir_refuses_to_replace_or_remove_an_edited_file(tmp_path):
    d = tmp_path / "out"
    out = OutputDir.open(d, tool="t")
    out.write_text("README.md", "generated")
    out.write_text("other.txt", "generated")
    (d / "README.md").write_text("generated, then hand-edited")
    again = OutputDir.open(d, tool="t", overwrite=True)
    with pytest.raises(OutputError, match="edited"):
        again.write_text("README.md", "new")
    again2 = OutputDir.open(d, tool="t", overwrite=True)
    again2.write_text("other.txt", "new")
    with pytest.raises(OutputError, match="edited"):
        again2.remove_previous()
    assert (d / "README.md").read_text() == "generated, then hand-edited"


def test_output_dir_tampered_marker_cannot_delete_outside(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    d = tmp_path / "out"
    OutputDir.open(d, tool="t").write_text("a.txt", "1")
    (d / OUTPUT_MARKER).write_text(json.dumps({"tool": "t", "files": ["a.txt", "../victim.txt"]}))
    with pytest.raises(OutputError, match="unsafe path"):
        OutputDir.open(d, tool="t", overwrite=True)
    assert victim.read_text() == "precious"


def test_output_dir_symlinked_subfolder_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_text("precious")
    d = tmp_path / "out"
    out = OutputDir.open(d, tool="t")
    out.write_text("sub/b.txt", "1")
    (d / "sub" / "b.txt").unlink()
    (d / "sub").rmdir()
    (d / "sub").symlink_to(outside, target_is_directory=True)
    again = OutputDir.open(d, tool="t", overwrite=True)
    with pytest.raises(OutputError, match="outside"):
        again.remove_previous()
    assert (outside / "b.txt").read_text() == "precious"


def test_output_dir_adopts_an_empty_folder_and_a_recognised_legacy_one(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    assert not OutputDir.open(d, tool="t").created
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "old.txt").write_text("written by an older dinos")
    out = OutputDir.open(legacy, tool="t", overwrite=True, adopt=lambda p: ["old.txt"])
    assert out.previous == ["old.txt"] and out.remove_previous() == ["old.txt"]


def test_output_dir_failed_run_into_a_new_folder_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "new" / "out", tool="t") as out:
        out.write_text("a/b.txt", "partial")
        out.write_bytes("c.bin", b"1")
        raise RuntimeError("killed midway")
    assert not (tmp_path / "new").exists()  # the parents it made go too
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "mine" / "x" / "y", tool="t") as out:
        out.write_text("f.txt", "partial")
        raise RuntimeError
    assert list((tmp_path / "mine").iterdir()) == []  # down to the folder that existed before, kept
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "mine" / "n1" / ".." / "n2" / "a", tool="t"):
        raise RuntimeError  # a path with `..`: the folders made are those of the resolved path
    assert list((tmp_path / "mine").iterdir()) == []


def test_output_dir_failed_run_keeps_a_previous_output_and_a_users_empty_folder(tmp_path):
    with OutputDir.open(tmp_path / "o", tool="t") as out:
        out.write_text("keep.txt", "v1")
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "o", tool="t", overwrite=True) as out:
        out.write_text("new.txt", "half")
        raise RuntimeError
    assert (tmp_path / "o" / "keep.txt").read_text() == "v1"  # the previous output is not removed
    marker = json.loads((tmp_path / "o" / OUTPUT_MARKER).read_text())
    assert {"keep.txt", "new.txt"} <= set(marker["files"])  # listed, so a rerun may replace them
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "empty", tool="t"):
        raise RuntimeError
    assert (tmp_path / "empty").is_dir() and list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "empty2").mkdir()
    with pytest.raises(RuntimeError), OutputDir.open(tmp_path / "empty2", tool="t") as out:
        out.write_text("x.txt", "written")
        raise RuntimeError
    assert (tmp_path / "empty2" / "x.txt").exists()  # not a folder this run created: kept and listed


# --------------------------------------------------------------------------------------------- scratch folders
def test_scratch_dir_is_removed_and_cleans_dead_runs_leftovers(tmp_path):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"dinos-make-splits-{int(child.stdout)}-0123abcd"
    (stale / "corpus").mkdir(parents=True)
    other = tmp_path / "dinos-make-splits-keep"  # not our pattern: left alone
    other.mkdir()
    with io.scratch_dir("dinos-make-splits", tmp_path) as d:
        assert d.is_dir() and not stale.exists()
        (d / "x").write_text("big")
    assert not d.exists() and other.exists()


CHILD = """
import sys, time
from pathlib import Path
from dinos.io import cleanup_on_sigterm, scratch_dir
with cleanup_on_sigterm(), scratch_dir("dinos-test", sys.argv[1]) as d:
    (d / "data").write_text("x")
    Path(sys.argv[2]).write_text(str(d))
    time.sleep(60)
"""


def test_terminated_run_removes_its_scratch_dir(tmp_path):
    import signal
    import time

    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(ready)])
    try:
        for _ in range(600):
            if ready.exists() and ready.read_text():
                break
            assert proc.poll() is None, "child ended early"
            time.sleep(0.05)
        scratch = tmp_path / ready.read_text().rsplit("/", 1)[-1]
        assert scratch.is_dir()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not scratch.exists()
