"""`torchrun --nproc_per_node=2 -m dinos pretrain` on CPU (gloo): one run folder, resumable, same curve."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]
torch = pytest.importorskip("torch")

from tests.conftest import make_dinos_tree  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


# Everything on the loopback interface: the workers' store (--local-addr; by
# default the host's FQDN) and gloo's sockets (GLOO_SOCKET_IFNAME; by default the address the host name
# resolves to). A sandbox or CI runner whose host name does not resolve otherwise hangs in the rendezvous.
LOOPBACK = ["--local-addr=127.0.0.1"]  # --standalone already puts the rendezvous on localhost
TIMEOUT_S = 180  # three calls stay under pytest-timeout's 600 s


def _pretrain(args: list[str], nproc: int) -> subprocess.CompletedProcess:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", *LOOPBACK,
                f"--nproc_per_node={nproc}"]
    cmd = (launcher if nproc > 1 else [sys.executable]) + ["-m", "dinos", "pretrain", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "GLOO_SOCKET_IFNAME": "lo" if sys.platform.startswith("linux") else "lo0"}
    # own process group: on a timeout the launcher *and* its workers are killed (subprocess.run kills
    # only the launcher, and the workers holding the pipes open would keep it waiting for ever)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    marker = args[args.index("--out") + 1]  # a folder of this call alone: names its processes
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        err = _kill_all(proc, marker)
        pytest.fail(f"{' '.join(cmd[:8])} ... did not finish in {TIMEOUT_S} s:\n{err[-3000:]}")
    except BaseException:  # pytest-timeout, Ctrl-C: never leave the launcher and its workers behind
        _kill_all(proc, marker)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_all(proc: subprocess.Popen, marker: str) -> str:
    """Kill the launcher's process group and every process whose command line names `marker`
    (torchrun starts each worker in a session of its own, so the group alone misses them); then
    collect what the launcher printed, without waiting for ever on a pipe a survivor holds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(entry.name), signal.SIGKILL)
    try:
        return proc.communicate(timeout=30)[1] or ""
    except subprocess.TimeoutExpired:
        return "(no output: a pipe stayed open)"


def _log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]


def test_two_process_ddp_matches_single_process_and_resumes(tmp_path):
    root = make_dinos_tree(tmp_path / "dinos", datasets=("VF2",), per_class=1, pretrain_seconds=2.5)
    cache = str(tmp_path / "cache")
    common = ["--corpus", "dinos", "--data-dir", str(root), "--preset", "tiny", "--batch-size", "4",
              "--lr", "1e-3", "--device", "cpu", "--cache-dir", cache, "--quiet", "--checkpoint-every", "2"]
    one = _pretrain([*common, "--out", str(tmp_path / "one"), "--max-steps", "4"], 1)
    assert one.returncode == 0, one.stderr[-2000:]
    two = _pretrain([*common, "--out", str(tmp_path / "two"), "--max-steps", "4"], 2)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "2 processes" in two.stdout and two.stdout.count("pretrained IMPACT") == 1  # rank 0 reports
    run = tmp_path / "two"
    files = sorted(p.name for p in run.iterdir() if not p.name.startswith("."))
    assert files == ["checkpoint.pt", "config.json", "log.jsonl", "model.safetensors"]  # one checkpoint
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    a, b = _log(tmp_path / "one"), _log(run)
    assert [r["step"] for r in a] == [r["step"] for r in b] == [0, 4]
    assert a[0] == b[0]  # same initial network and collapse metrics
    # same loss curve shape: the same global batches, gradients averaged over the two halves
    assert b[1]["loss"] == pytest.approx(a[1]["loss"], rel=0.5)
    resumed = _pretrain([*common, "--out", str(run), "--max-steps", "6"], 2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [r["step"] for r in _log(run)] == [0, 4, 6]
    assert int(torch.load(run / "checkpoint.pt", weights_only=True)["step"]) == 6
