"""docs/own-data.md runs as written: every `$ ` line of its first console block, in order, in an empty folder."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "own-data.md"


def walkthrough_commands() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```console", 1)[1].split("```", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_the_walkthrough_has_ten_commands():
    assert len(walkthrough_commands()) == 10


@pytest.mark.slow
def test_walkthrough_runs_as_written(tmp_path):
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_CACHE": str(tmp_path / "hf" / "datasets")}
    outputs = []
    for cmd in walkthrough_commands():
        argv = shlex.split(cmd)
        if argv[0] == "dinos":
            argv = [sys.executable, "-m", "dinos", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        else:  # pragma: no cover - the doc only uses these two
            raise AssertionError(f"unexpected command {cmd}")
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    from dinos import protocols

    asd = protocols.load(tmp_path / "asd.json")
    assert {lab for lab in protocols.side_clips(asd, "train").values()} == {"normal"}
    assert "positive class: anomaly" in outputs[4] and "chosen on validation" in outputs[4]
    assert "rule recall" in outputs[5]
    decision = json.loads((tmp_path / "decision.json").read_text())
    test = decision["test"]
    assert test["positive"] == "normal" and test["chosen_on"] == "validation"
    assert test["tp"] + test["fn"] == test["n_normal"] and test["fp"] + test["tn"] == test["n_anomaly"]
    assert test["n_normal"] == test["n_anomaly"] > 0
    assert test["auc"] > 0.9  # the synthetic faults are easy: a sanity check of the whole chain, not a result
    pngs = list((tmp_path / "images").rglob("*.png"))
    assert {p.parent.name for p in pngs} == {"normal", "anomaly"}
    assert len(pngs) == asd["manifest"]["clips"]
    kfold = protocols.load(tmp_path / "kfold.json")
    assert len(kfold["folds"]) == 3 and kfold["corpus"] == "mimii"
    holdout = protocols.load(tmp_path / "holdout.json")
    assert holdout["manifest"]["clips"] == 3 * kfold["manifest"]["clips"]  # three SNRs of the fan
