"""Builds and exports killed with SIGKILL midway: the next run neither trusts the partial output nor loses
anything -- a load rebuilds and returns every row, an export into the same folder with --overwrite
succeeds, and `dinos validate export` flags the killed folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dinos
from dinos.cli import main
from dinos.export import EXPORT_MARKER, validate_export

from .conftest import make_dinos_tree

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

#: Runs in a child process: every audio probe of the builder waits, and the first probe of a test-split
#: file (the train split's Arrow data is written by then) leaves a marker so the parent knows when to kill.
CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import dinos.builder as B

    marker, mode = Path(sys.argv[1]), sys.argv[2]
    real_probe = B.probe_file
    B.ClipBuilder.BATCH_ROWS = 1  # write Arrow batches row by row, so the kill lands mid-write

    def slow_probe(path):
        if "Downstreams_test" in str(path):
            marker.touch()
            time.sleep(30)
        return real_probe(path)

    if mode.startswith("export-step:"):  # instead, stall right after one step of publishing the export
        import dinos.export as E

        def stall(step, _when=mode.split(":", 1)[1]):
            if step == _when:
                marker.touch()
                time.sleep(30)

        E._after_step = stall
    else:
        B.probe_file = slow_probe
    if mode == "load":
        import dinos
        dinos.load_dataset("dinos", "vf2", data_dir=sys.argv[3], cache_dir=sys.argv[4], decode=False)
    else:
        from dinos.cli import main
        sys.exit(main(sys.argv[3:]))
""")


def _run_and_kill(tmp_path: Path, *args: str, wait_for=None, sig=signal.SIGKILL) -> None:
    """Start the child, wait until it is midway (marker, and `wait_for()` if given), send `sig` (SIGKILL)."""
    marker = tmp_path / "midway"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(marker), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and (wait_for is None or wait_for())):
            if proc.poll() is not None:
                raise AssertionError(f"child ended before the kill: {proc.stdout.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("child never reached the midway point")
            time.sleep(0.05)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
        assert code == (-sig if sig == signal.SIGKILL else 128 + sig), code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture
def tree(tmp_path):
    return make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=2)


def _rows(ds) -> list[tuple]:
    return sorted(zip(ds["clip_id"], ds["task_class"], ds["num_frames"], strict=True))


@pytest.mark.slow
def test_killed_build_is_rebuilt_not_trusted(tree, tmp_path):
    cache = tmp_path / "cache"
    _run_and_kill(tmp_path, "load", str(tree), str(cache))
    assert any(cache.rglob("*.arrow")), "the child was killed before it wrote any Arrow data"
    leftovers = [p for p in cache.rglob("*") if p.name.endswith(".incomplete") or ".incomplete" in p.parent.name]
    assert leftovers  # it was killed in the middle of a build

    ds = dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=str(cache), decode=False)
    ref = dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=str(tmp_path / "ref"), decode=False)
    assert set(ds) == set(ref) == {"train", "test"}
    for split in ref:
        assert len(ds[split]) == len(ref[split]) == 6
        assert _rows(ds[split]) == _rows(ref[split])
    again = dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=str(cache), decode=False, split="test")
    assert _rows(again) == _rows(ref["test"])  # the rebuilt cache is complete and reused


@pytest.mark.slow
def test_killed_export_is_flagged_and_overwritable(tree, tmp_path, capsys):
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    args = ["export", "dinos", "vf2", "--data-dir", str(tree), "--out", str(out), "--cache-dir", str(cache),
            "--max-shard-mb", "0.05", "--quiet"]
    _run_and_kill(tmp_path, "export", *args,
                  wait_for=lambda: any(p.suffix == ".parquet" for p in out.rglob("*")))
    assert not (out / EXPORT_MARKER).exists()  # never looks finished
    import datasets

    with pytest.raises(Exception):  # noqa: B017, PT011 - stock `datasets` finds nothing to load, no partial split
        datasets.load_dataset(str(out), "vf2", split="train", cache_dir=str(tmp_path / "stock"))

    problems = validate_export(out)
    assert problems and "no export manifest" in problems[0]
    assert main(["validate", "export", str(out)]) == 1
    assert main(args) == 1  # not silently merged into: the folder is not empty
    assert "not empty" in capsys.readouterr().err

    assert main([*args, "--overwrite"]) == 0
    assert validate_export(out) == []
    assert main(["validate", "export", str(out)]) == 0
    assert not any(p.name.startswith(".dinos-partial") for p in out.rglob("*"))
    exported = dinos.load_dataset(str(out), "vf2", decode=False)
    ref = dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=str(tmp_path / "ref"), decode=False)
    for split in ref:
        assert _rows(exported[split]) == _rows(ref[split])


@pytest.mark.slow
@pytest.mark.parametrize("step", ["pending", "old data removed", "card written", "data published"])
def test_export_killed_while_publishing_is_never_a_partial_dataset(tree, tmp_path, step):
    """SIGKILL at each step of publishing an --overwrite: stock `datasets` loads the old export, the new one,
    or fails -- never a partial split (today: 21 of 440 rows) or all splits merged into `train`; a rerun
    with --overwrite recovers."""
    import datasets

    out = tmp_path / "out"
    cache = str(tmp_path / "cache")
    base = ["export", "dinos", "vf2", "--data-dir", str(tree), "--out", str(out), "--cache-dir", cache, "--quiet"]
    assert main(base) == 0
    old = {s: len(datasets.load_dataset(str(out), "vf2", split=s, cache_dir=str(tmp_path / "c0")))
           for s in ("train", "test")}
    args = [*base, "--segment", "0.5", "--max-shard-mb", "0.05"]
    _run_and_kill(tmp_path, f"export-step:{step}", *args, "--overwrite")
    killed = {}
    for split in ("train", "test"):
        try:
            killed[split] = len(datasets.load_dataset(str(out), "vf2", split=split, cache_dir=str(tmp_path / "c1")))
        except Exception:  # noqa: BLE001 - a clear error is acceptable, a partial dataset is not
            killed[split] = None
    assert main(args) == 1  # the interrupted folder is not silently merged into
    assert main([*args, "--overwrite"]) == 0
    assert validate_export(out) == []
    assert not any(p.name.startswith(".dinos-partial") for p in out.rglob("*"))
    new = {s: len(datasets.load_dataset(str(out), "vf2", split=s, cache_dir=str(tmp_path / "c2")))
           for s in ("train", "test")}
    assert new != old
    for split in ("train", "test"):
        assert killed[split] in (None, old[split], new[split]), (step, split, killed, old, new)


def test_terminated_export_removes_its_staging_folder(tree, tmp_path):
    """SIGTERM (e.g. a job scheduler's) unwinds the command: the staged shards are removed, exit 143."""
    out = tmp_path / "out"
    args = ["export", "dinos", "vf2", "--data-dir", str(tree), "--out", str(out), "--cache-dir",
            str(tmp_path / "cache"), "--quiet"]
    _run_and_kill(tmp_path, "export-step:pending", *args, sig=signal.SIGTERM)
    assert not (out / ".dinos-partial-staging").exists() and not (out / EXPORT_MARKER).exists()
    assert main([*args, "--overwrite"]) == 0
    assert validate_export(out) == []
