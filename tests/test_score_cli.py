"""`dinos score dcase`: the CLI over real evaluator ground truth, bad input, and end to end via the loader."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from dinos import metrics as M
from dinos.cli import main

from .conftest import REAL_SAMPLES

REAL = REAL_SAMPLES / "meta"
EVAL_2024 = REAL / "nttcslab_dcase2024_task2_evaluator"
LISTS = REAL / "nttcslab_dcase2023_task2_baseline_ae" / "datasets"

needs_real = pytest.mark.skipif(not EVAL_2024.is_dir(), reason=f"real samples not found at {REAL}")


def _write_submission(
    out: Path, year: int, truth: pd.DataFrame, seed: int = 0, decisions: bool = False
) -> pd.DataFrame:
    """Scores = label + noise for every truth row, written as the year's official CSVs; returns truth + score."""
    rng = np.random.default_rng(seed)
    t = truth.copy()
    t["score"] = (t["label"] == "anomaly").astype(float) + rng.normal(0, 0.8, len(t))
    t["decision"] = (t["score"] > 0.5).astype(int)
    keys = ["machine", "section"] + (["domain"] if year == 2021 else [])
    for key, g in t.groupby(keys):
        dom = key[2] if year == 2021 else None
        M.write_scores(
            out / M.submission_file_name(year, key[0], key[1], dom),
            dict(zip(g["file"], g["score"], strict=True)),
        )
        if decisions:
            M.write_decisions(
                out / M.submission_file_name(year, key[0], key[1], dom, "decision_result"),
                dict(zip(g["file"], g["decision"], strict=True)),
            )
    return t


@needs_real
def test_cli_scores_2024_against_evaluator_ground_truth(tmp_path, capsys):
    truth = M.read_ground_truth(EVAL_2024, 2024)
    frame = _write_submission(tmp_path / "sub", 2024, truth, decisions=True)
    out = tmp_path / "res" / "result.json"
    code = main(["score", "dcase", "--year", "2024", "--scores", str(tmp_path / "sub"),
                 "--ground-truth", str(EVAL_2024), "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    expected = M.evaluate(2024, frame)
    assert f"official score: {expected.official_score:.4f}" in printed
    assert "RoboticArm" in printed and "precision (source)" in printed
    data = json.loads(out.read_text())
    assert list(data["parts"]) == ["eval"]  # organisers' ground truth = the eval part
    assert data["parts"]["eval"]["summary"]["official score"] == expected.official_score
    assert len(data["parts"]["eval"]["sections"]) == 9
    assert "official score ci95" not in data["parts"]["eval"]["summary"]  # only with --ci95
    assert not list(out.parent.glob(".*.part"))
    # an existing --out is never replaced without --overwrite, and is refused before any work
    before = out.read_text()
    args = ["score", "dcase", "--year", "2024", "--scores", str(tmp_path / "sub"),
            "--ground-truth", str(EVAL_2024), "--out", str(out)]  # fmt: skip
    assert main(args) == 1
    assert "pass --overwrite" in capsys.readouterr().err and out.read_text() == before
    assert main([*args, "--overwrite"]) == 0


@needs_real
def test_cli_markdown_and_machine_filter(tmp_path, capsys):
    truth = M.read_ground_truth(EVAL_2024, 2024)
    _write_submission(tmp_path, 2024, truth)
    code = main(["score", "dcase", "--year", "2024", "--scores", str(tmp_path), "--ground-truth", str(EVAL_2024),
                 "--markdown", "--machine", "Scanner", "--machine", "ToyCircuit"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("### DCASE 2024 Task 2, eval: per section")
    assert "| Scanner | 00 |" in text and "| ToyCircuit | 00 |" in text and "| 3DPrinter |" not in text
    assert "not scored" in text  # the other seven CSVs are named, not silently ignored


@needs_real
def test_cli_2021_with_eval_data_list(tmp_path, capsys):
    path = LISTS / "eval_data_list_2021.csv"
    truth = M.read_ground_truth(path, 2021)
    frame = _write_submission(tmp_path, 2021, truth[truth["machine"].isin(["fan", "valve"])], seed=3)
    code = main(["score", "dcase", "--year", "2021", "--scores", str(tmp_path), "--ground-truth", str(path),
                 "--machine", "fan", "--machine", "valve"])  # fmt: skip
    assert code == 0
    assert f"official score: {M.evaluate(2021, frame).official_score:.4f}" in capsys.readouterr().out


@needs_real
def test_cli_2020_reports_no_single_score(tmp_path, capsys):
    path = LISTS / "eval_data_list_2020.csv"
    truth = M.read_ground_truth(path, 2020)
    _write_submission(tmp_path, 2020, truth[truth["machine"] == "ToyCar"])
    assert main(["score", "dcase", "--year", "2020", "--scores", str(tmp_path), "--ground-truth", str(path),
                 "--machine", "ToyCar"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "none defined for DCASE 2020" in out and "arithmetic mean AUC" in out


@needs_real
def test_cli_bad_input_exits_nonzero_with_reason(tmp_path, capsys):
    truth = M.read_ground_truth(EVAL_2024, 2024)
    sub = tmp_path / "sub"
    _write_submission(sub, 2024, truth)
    base = ["score", "dcase", "--scores", str(sub), "--ground-truth", str(EVAL_2024)]

    assert main([*base, "--year", "2019"]) == 1
    assert "unknown DCASE Task 2 year 2019" in capsys.readouterr().err

    missing = sub / "anomaly_score_Scanner_section_00_test.csv"
    missing.unlink()
    assert main([*base, "--year", "2024"]) == 1
    assert "anomaly_score_Scanner_section_00_test.csv" in capsys.readouterr().err

    bad = sub / "anomaly_score_HairDryer_section_00_test.csv"
    bad.write_text("section_00_0000.wav,oops\n")
    assert main([*base, "--year", "2024", "--machine", "HairDryer"]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "not a number" in err

    assert main(["score", "dcase", "--year", "2024", "--scores", str(tmp_path / "nope"),
                 "--ground-truth", str(EVAL_2024)]) == 2  # fmt: skip  (a folder that does not exist: usage error)
    assert "no such directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    # checked before the ground truth is read (a --data-dir that is no DCASE tree is never built)
    assert main(["score", "dcase", "--year", "2024", "--scores", str(empty), "--data-dir", str(tmp_path)]) == 1
    assert "no anomaly_score_*.csv files" in capsys.readouterr().err
    assert main([*base, "--year", "2024", "--part", "dev", "--machine", "Scanner"]) == 1
    assert "no 'dev' part" in capsys.readouterr().err


@needs_real
def test_cli_names_the_unexpected_csv_name_and_the_clip_without_a_score(tmp_path, capsys):
    truth = M.read_ground_truth(EVAL_2024, 2024)
    sub = tmp_path / "sub"
    _write_submission(sub, 2024, truth[truth["machine"] == "Scanner"])
    path = sub / "anomaly_score_Scanner_section_00_test.csv"
    path.write_text(path.read_text().replace("section_00_0007.wav", "section_00_0007.WAV"))
    assert main(["score", "dcase", "--year", "2024", "--scores", str(sub), "--ground-truth", str(EVAL_2024),
                 "--machine", "Scanner"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert str(path) in err
    assert "1 ground-truth clip(s) without a score: section_00_0007.wav" in err
    assert "1 unexpected name(s) in the CSV, not in the ground truth of this section: section_00_0007.WAV" in err


def _loader_ready() -> str | None:
    try:
        mod = importlib.import_module("dinos.loaders.dcase_task2")
    except ImportError as exc:
        return f"dinos.loaders.dcase_task2 not importable yet ({exc})"
    if not hasattr(mod, "DcaseTask2"):
        return "dinos.loaders.dcase_task2 exposes no DcaseTask2 builder yet"
    return None


def _make_dcase2023_tree(root: Path) -> None:
    """A miniature DCASE 2023 dev tree (two machine types), 0.05-s clips, real file-name grammar."""
    rng = np.random.default_rng(0)
    attrs = {"fan": "m-n_X", "valve": "pat_00"}
    for machine, tail in attrs.items():
        base = root / "dev_data" / "raw" / machine
        names = [f"train/section_00_source_train_normal_{i:04d}_{tail}.wav" for i in range(2)]
        for dom in ("source", "target"):
            for lab, n in (("normal", 3), ("anomaly", 2)):
                names += [f"test/section_00_{dom}_test_{lab}_{i:04d}_{tail}.wav" for i in range(n)]
        for name in names:
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), (0.1 * rng.standard_normal(800)).astype(np.float32), 16_000, subtype="PCM_16")


def test_cli_end_to_end_with_loader(tmp_path, capsys):
    reason = _loader_ready()
    if reason:
        pytest.skip(reason)
    data = tmp_path / "dcase2023"
    _make_dcase2023_tree(data)
    truth = M.truth_from_corpus(2023, data, cache_dir=str(tmp_path / "cache"))
    assert set(truth["part"]) == {"dev"}
    assert sorted(set(truth["machine"])) == ["fan", "valve"] and len(truth) == 20
    assert truth.groupby(["domain", "label"]).size().to_dict() == {
        ("source", "anomaly"): 4, ("source", "normal"): 6, ("target", "anomaly"): 4, ("target", "normal"): 6,
    }  # fmt: skip
    frame = _write_submission(tmp_path / "sub", 2023, truth, seed=5)
    code = main(["score", "dcase", "--year", "2023", "--scores", str(tmp_path / "sub"), "--data-dir", str(data),
                 "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "DCASE 2023 Task 2, dev part, per section" in out
    assert f"official score: {M.evaluate(2023, frame).official_score:.4f}" in out
    code = main(["score", "dcase", "--year", "2023", "--scores", str(tmp_path / "sub"), "--data-dir", str(data),
                 "--cache-dir", str(tmp_path / "cache"), "--part", "eval"])  # fmt: skip
    assert code == 1 and "no eval test split" in capsys.readouterr().err


@pytest.mark.slow  # the jackknife: 2 N roc_auc_score calls
def test_cli_ci95_equals_the_pinned_evaluator_value(tmp_path, capsys):
    from tests.evaluator_sets import make_set

    s = make_set(2026, "synth_ties")
    gt = s.write_ground_truth(tmp_path / "gt")
    sub = s.write_submission(tmp_path / "sub")
    out = tmp_path / "r.json"
    assert main(["score", "dcase", "--year", "2026", "--scores", str(sub), "--ground-truth", str(gt),
                 "--ci95", "--out", str(out)]) == 0  # fmt: skip
    pin = json.loads((Path(__file__).parent / "resources/evaluator_pins/2026_synth_ties.json").read_text())
    want = float(next(r[2] for r in pin["result_csv"] if r[:1] == ["official score ci95"]))
    assert json.loads(out.read_text())["parts"]["eval"]["summary"]["official score ci95"] == want
