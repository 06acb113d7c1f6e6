"""dinos.metrics: ground truth and submission folders do not fit together (every mismatch named),
ground-truth frames from datasets and from the organisers' files (the loader's parsers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from dinos import metrics as M
from dinos.errors import DinosError, LayoutError, ParseError

from .conftest import REAL_SAMPLES

REAL = REAL_SAMPLES / "meta"
EVAL_2023 = REAL / "nttcslab_dcase2023_task2_evaluator"
EVAL_2024 = REAL / "nttcslab_dcase2024_task2_evaluator"
LISTS = REAL / "nttcslab_dcase2023_task2_baseline_ae" / "datasets"
needs_real = pytest.mark.skipif(not EVAL_2023.is_dir(), reason=f"real samples not found at {REAL}")
EPS = sys.float_info.epsilon



# ------------------------------------------------------------------ mismatches between truth and scores


def _tiny_truth() -> pd.DataFrame:
    rows = []
    for machine in ("fan", "valve"):
        for dom in ("source", "target"):
            for lab in ("normal", "anomaly"):
                for i in range(2):
                    rows.append((f"section_00_{dom}_test_{lab}_{i:04d}.wav", machine, 0, dom, lab))
    return pd.DataFrame(rows, columns=list(M.TRUTH_COLUMNS))


def _write_tiny(root: Path, truth: pd.DataFrame, drop: str | None = None, extra: str | None = None) -> None:
    for machine, g in truth.groupby("machine"):
        scores = {f: float(i) for i, f in enumerate(g["file"]) if f != drop}
        if extra:
            scores[extra] = 0.5
        M.write_scores(root / M.submission_file_name(2023, machine, 0), scores)


def test_scores_missing_for_ground_truth_files_are_listed(tmp_path):
    truth = _tiny_truth()
    _write_tiny(tmp_path, truth, drop="section_00_target_test_normal_0001.wav")
    with pytest.raises(M.ScoreError, match="1 ground-truth clip\\(s\\) without a score") as err:
        M.score_submission(2023, tmp_path, truth)
    assert "section_00_target_test_normal_0001.wav" in str(err.value)
    assert err.value.path.endswith("anomaly_score_fan_section_00_test.csv")


def test_scored_file_not_in_ground_truth_is_an_error(tmp_path):
    truth = _tiny_truth()
    _write_tiny(tmp_path, truth, extra="section_00_source_test_normal_9999.wav")
    with pytest.raises(
        M.ScoreError, match="not in the ground truth of this section: section_00_source_test_normal_9999"
    ):
        M.score_submission(2023, tmp_path, truth)


def test_unknown_labels_are_listed_and_missing_files_reported(tmp_path):
    truth = _tiny_truth()
    truth.loc[[0, 5], "label"] = "unknown"
    with pytest.raises(LayoutError, match="no anomaly_score_\\*.csv files"):  # checked first
        M.score_submission(2023, tmp_path, truth)
    (tmp_path / "anomaly_score_pump_section_00_test.csv").write_text("section_00_0000.wav,1\n")
    with pytest.raises(M.ScoreError, match="2 clip\\(s\\) have unknown labels") as err:
        M.score_submission(2023, tmp_path, truth)
    assert "fan/section_00/section_00_source_test_normal_0000.wav" in str(err.value)
    with pytest.raises(
        LayoutError, match="2 anomaly score file\\(s\\) missing: anomaly_score_fan_section_00_test.csv"
    ):
        M.score_submission(2023, tmp_path, _tiny_truth())
    # --machine filtering happens before validation: unknown labels of other machines do not matter
    truth = _tiny_truth()
    truth.loc[truth["machine"] == "valve", "label"] = "unknown"
    _write_tiny(tmp_path, _tiny_truth())
    assert M.score_submission(2023, tmp_path, truth, machines=["fan"]).sections["machine"].tolist() == ["fan"]
    with pytest.raises(M.ScoreError, match="not in the ground truth: \\['pump'\\]"):
        M.score_submission(2023, tmp_path, truth, machines=["pump"])


def test_decisions_all_or_none(tmp_path):
    truth = _tiny_truth()
    _write_tiny(tmp_path, truth)
    res = M.score_submission(2023, tmp_path, truth)
    assert "precision (source)" not in res.sections.columns and any("decision_result" in n for n in res.notes)
    g = truth[truth["machine"] == "fan"]
    M.write_decisions(tmp_path / "decision_result_fan_section_00_test.csv", dict.fromkeys(g["file"], 1))
    with pytest.raises(LayoutError, match="decision_result_valve_section_00_test.csv"):
        M.score_submission(2023, tmp_path, truth)
    g = truth[truth["machine"] == "valve"]
    M.write_decisions(tmp_path / "decision_result_valve_section_00_test.csv", dict.fromkeys(g["file"], 0))
    res = M.score_submission(2023, tmp_path, truth).to_frame().set_index("machine")
    assert res.loc["fan", "precision (source)"] == 0.5 and res.loc["fan", "recall (target)"] == 1.0
    assert res.loc["valve", "F1 score (source)"] == 0.0


def test_duplicate_ground_truth_rows_rejected():
    truth = pd.concat([_tiny_truth(), _tiny_truth().iloc[:1]])
    with pytest.raises(
        M.ScoreError, match="lists a file twice: fan/section_00/section_00_source_test_normal_0000.wav"
    ):
        M.normalize_truth(truth)
    with pytest.raises(M.ScoreError, match="lacks column"):
        M.normalize_truth(_tiny_truth().drop(columns="domain"))
    assert issubclass(M.ScoreError, DinosError)


def test_truth_from_dataset_decodes_classlabels_and_collapses_windows():
    import datasets

    from dinos.schema import features

    feats = features()
    sub = datasets.Features({k: feats[k] for k in ("path", "machine", "section", "domain", "label")})
    ds = datasets.Dataset.from_dict(
        {"path": ["dev_data/raw/fan/test/a.wav", "dev_data/raw/fan/test/a.wav", "dev_data/raw/fan/test/b.wav"],
         "machine": ["fan"] * 3, "section": [0, 0, 0], "domain": ["source", "source", "target"],
         "label": ["normal", "normal", "anomaly"]},
        features=sub,
    )  # fmt: skip
    t = M.truth_from_dataset(ds)
    assert t.to_dict("records") == [
        {"file": "a.wav", "machine": "fan", "section": 0, "domain": "source", "label": "normal"},
        {"file": "b.wav", "machine": "fan", "section": 0, "domain": "target", "label": "anomaly"},
    ]
    bad = ds.add_item(
        {
            "path": "dev_data/raw/fan/test/a.wav",
            "machine": "fan",
            "section": 0,
            "domain": "source",
            "label": "anomaly",
        }
    )
    with pytest.raises(M.ScoreError, match="disagree on label or domain: dev_data/raw/fan/test/a.wav"):
        M.truth_from_dataset(bad)


def test_read_ground_truth_layout_errors(tmp_path):
    with pytest.raises(LayoutError, match="ground_truth_data"):
        M.read_ground_truth(tmp_path, 2023)
    (tmp_path / "ground_truth_data").mkdir()
    (tmp_path / "ground_truth_domain").mkdir()
    data = tmp_path / "ground_truth_data" / "ground_truth_fan_section_00_test.csv"
    dom = tmp_path / "ground_truth_domain" / "ground_truth_fan_section_00_test.csv"
    data.write_text("section_00_0000.wav,1\nsection_00_0001.wav,0\n")
    with pytest.raises(LayoutError, match="ground_truth_domain/ file missing for fan section 00"):
        M.read_ground_truth(tmp_path, 2023)
    dom.write_text("section_00_0000.wav,1\nsection_00_0002.wav,0\n")
    with pytest.raises(M.ScoreError, match="different clips: section_00_0001.wav, section_00_0002.wav"):
        M.read_ground_truth(tmp_path, 2023)
    dom.write_text("section_00_0000.wav,1\nsection_00_0001.wav,2\n")
    with pytest.raises(ParseError, match="line 2: expected <file>,<0\\|1>"):
        M.read_ground_truth(tmp_path, 2023)
    dom.write_text("section_00_0000.wav,1\nsection_01_0001.wav,0\n")  # one parser: names are checked
    with pytest.raises(ParseError, match="section 01, the file is for 00"):
        M.read_ground_truth(tmp_path, 2023)
    data.write_text("a.wav,1\n")
    with pytest.raises(ParseError, match="not a DCASE 2023 name"):
        M.read_ground_truth(tmp_path, 2023)
    d21 = tmp_path / "gt21"
    d21.mkdir()
    (d21 / "ground_truth_fan_section_03_source_test.csv").write_text("section_03_source_test_0000.wav,1\n")
    t = M.read_ground_truth(d21, 2021)
    assert t.to_dict("records") == [
        {"file": "section_03_source_test_0000.wav", "machine": "fan", "section": 3, "domain": "source",
         "label": "anomaly", "alias": "", "part": "eval"}
    ]  # fmt: skip


def test_clip_scored_under_name_and_alias_is_an_error(tmp_path):
    truth = _tiny_truth()
    truth["alias"] = truth["file"].str.replace(".wav", "_full.wav")
    _write_tiny(tmp_path, truth, extra="section_00_source_test_normal_0000_full.wav")
    with pytest.raises(ParseError, match="'section_00_source_test_normal_0000.wav' is scored twice"):
        M.score_submission(2023, tmp_path, truth)
