"""DCASE year table, the pure `resolve`, and the real metadata shapes the loader must read (issue 12):
2022 evaluator attribute CSVs (both headers, short valve rows), the self-consistent row rule, naming
differences, 2026 `noAttribute`, another year's machine folder in a tree, MIMII DUE Table 1 counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dinos.errors import LayoutError, ParseError
from dinos.loaders import dcase_task2 as dc
from dinos.loaders import mimii_due as md
from dinos.schema import Provenance
from dinos.synth import dcase as synth

from .conftest import REAL_SAMPLES

# verbatim first rows of real 2022 evaluator files (ground_truth_attributes/<machine>/attributes_0X.csv)
TOYCAR_03 = (
    "file_name,d1p,d1v,file_name_with_attributes\n"
    "ToyCar/test/section_03_0000.wav,car,G2,"
    "ToyCar/test/section_03_target_test_anomaly_0011_car_G2_spd_34V_mic_1_noise_6.wav\n"
)
VALVE_05 = (
    "file_name,d1p,d1v,d2p,d2v,file_name_with_full_attributes\n"
    "valve/test/section_05_0001.wav,v1pat,05,valve/test/section_05_source_test_normal_0001_v2pat_05.wav\n"
)


@pytest.fixture(scope="module")
def tree22(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("d22") / "t"
    synth.write(root, year=2022)
    return root


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _files(splits: dict, split: str) -> list:
    return splits.get(split, [])


# ------------------------------------------------------------------------------------------ year table
def test_year_objects_carry_scheme_and_submission_names():
    assert [dc.year_info(y).scoring for y in dc.YEARS] == [
        "2020", "2021", "2022", "2023", "2023", "2023 (assumed for 2025)", "2023"]
    from dinos.metrics import schemes

    assert all(dc.year_info(y).scoring in schemes.SCHEMES for y in dc.YEARS)  # every year names a real scheme
    assert schemes.scheme_for(2025).verified is False and schemes.scheme_for(2024).verified
    assert dc.year_info(2020).submission_file_name("fan", 1) == "anomaly_score_fan_id_01.csv"
    assert (dc.year_info(2021).submission_file_name("fan", 3, "target", "decision_result")
            == "decision_result_fan_section_03_target_test.csv")  # fmt: skip
    assert dc.year_info(2023).submission_file_name("fan", 0) == "anomaly_score_fan_section_00_test.csv"
    with pytest.raises(ParseError, match="per domain"):
        dc.year_info(2021).submission_file_name("fan", 3)
    assert dc.year_info(2021).folder_split("target_test") == ("test", "target")
    assert dc.year_info(2023).folder_split("source_test") is None
    assert dc.year_info(2025).splits("dev") == ("dev_train", "dev_test", "dev_supplemental")
    assert dc.INFO.citation(2023) == dc.year_info(2023).citation and "dohi2023dcase" in dc.INFO.citation(2023)
    assert "purohit2019mimii" in dc.INFO.citation("")


def test_2026_hidden_attribute_machines():
    info = dc.year_info(2026)
    assert info.hidden_attributes == {"ToyCar", "bearingEmu", "sliderEmu", "valveEmu", "SewingMachine", "ToothBrush"}
    name = dc.parse_dcase_name(2026, "section_00_source_train_normal_0003_noAttribute.wav", "train")
    assert name.hidden_attributes and name.attributes == ()
    assert "| 2026 | dev |" in dc.markdown_tables() and "bearingEmu, sliderEmu" in dc.markdown_tables()


# ------------------------------------------------------------------------------------------- resolve
def _blind(year=2022, name="section_03_0000.wav"):
    return dc.parse_dcase_name(year, name, "test")


def _entry(full: str, label: str, domain: str) -> dc.EvalListEntry:
    return dc.EvalListEntry("fan", "section_03_0000.wav", full, label, domain, 2)


def test_resolve_labelled_name_is_its_own_truth():
    info = dc.year_info(2023)
    parsed = dc.parse_dcase_name(2023, "section_00_target_test_anomaly_0004_vel_8_loc_B.wav", "test")
    out = dc.resolve(info, parsed, dc.Evidence(), part="dev")
    assert (out.domain, out.label) == ("target", "anomaly")
    assert [(a.name, a.value) for a in out.attributes] == [("vel", "8"), ("loc", "B")]
    Provenance(**out.provenance)  # a valid typed struct
    assert out.provenance["truth"] == "file_name" and out.provenance["part"] == "dev"


def test_resolve_blind_takes_full_name_from_an_agreeing_source():
    info = dc.year_info(2022)
    full = "section_03_source_test_normal_0001_m-n_X.wav"
    ev = dc.Evidence(evaluator_label="normal", evaluator_domain="source", evaluator_full_name=full)
    out = dc.resolve(info, _blind(), ev, part="eval")
    assert (out.label, out.domain, out.provenance["truth"]) == ("normal", "source", "evaluator")
    assert out.provenance["full_file_name"] == full and out.provenance["attributes_hidden"]
    assert [(a.name, a.value) for a in out.attributes] == [("m-n", "X")] and not out.withheld


def test_resolve_never_mixes_label_and_full_name_of_disagreeing_sources():
    """Evaluator: normal/source. Eval list and the evaluator's own attribute CSV: target anomaly."""
    info = dc.year_info(2022)
    full = "section_03_target_test_anomaly_0000_car_G1_spd_28V.wav"
    ev = dc.Evidence(evaluator_label="normal", evaluator_domain="source", evaluator_full_name=full,
                     eval_list=_entry(full, "anomaly", "target"), eval_list_full_name=full)  # fmt: skip
    out = dc.resolve(info, _blind(), ev, part="eval")
    assert (out.label, out.domain, out.provenance["truth"]) == ("normal", "source", "evaluator")
    assert out.provenance["full_file_name"] == "" and out.attributes == ()
    assert out.withheld and "contradicts" in out.provenance["quirks"][-1]


def test_resolve_labelled_name_contradicted_by_its_full_name_is_an_error():
    info = dc.year_info(2024)
    parsed = dc.parse_dcase_name(2024, "section_00_source_train_normal_0001_noAttribute.wav", "train")
    ev = dc.Evidence(correspondence="section_00_target_train_normal_0001_pro_A.wav")
    with pytest.raises(ParseError, match="disagrees"):
        dc.resolve(info, parsed, ev, part="dev")


def test_resolve_hidden_without_correspondence_stays_explicitly_unknown():
    info = dc.year_info(2026)
    parsed = dc.parse_dcase_name(2026, "section_00_source_train_normal_0001_noAttribute.wav", "train")
    out = dc.resolve(info, parsed, dc.Evidence(), part="eval")
    assert out.hidden_unresolved and out.attributes == () and out.provenance["attributes_hidden"]
    assert "unknown" in out.provenance["quirks"][-1]
    ok = dc.resolve(info, parsed, dc.Evidence(correspondence="section_00_source_train_normal_0001_spd_1.wav"),
                    part="eval")  # fmt: skip
    assert not ok.hidden_unresolved and [(a.name, a.value) for a in ok.attributes] == [("spd", "1")]


# ---------------------------------------------------------------------------- real 2022 attribute CSVs
def test_2022_evaluator_attribute_csv_shapes_verbatim():
    car = dc.parse_attributes_csv(TOYCAR_03, "ToyCar/attributes_03.csv")["section_03_0000"]
    assert car.pairs == (("car", "G2"),)
    assert car.full_name.endswith("section_03_target_test_anomaly_0011_car_G2_spd_34V_mic_1_noise_6.wav")
    valve = dc.parse_attributes_csv(VALVE_05, "valve/attributes_05.csv")["section_05_0001"]
    assert valve.pairs == (("v1pat", "05"),)
    assert valve.full_name == "valve/test/section_05_source_test_normal_0001_v2pat_05.wav"
    # the full name is the authority for the row's attributes
    info = dc.year_info(2022)
    out = dc.resolve(info, _blind(2022, "section_05_0001.wav"), dc.Evidence(attribute_row=valve), part="eval")
    assert [(a.name, a.value) for a in out.attributes] == [("v2pat", "05")]
    assert (out.label, out.domain, out.provenance["truth"]) == ("normal", "source", "attributes_csv")


@pytest.mark.parametrize("text", ["file_name,d1p,d1v\nfan/train/", "file_name,d1p,d1v\n,n,B", "file_name,d1p,d1v\nfan\\train\\"])
def test_attributes_row_naming_a_folder_is_an_error(text):
    with pytest.raises(ParseError, match="names no file") as err:
        dc.parse_attributes_csv(text, "fan/attributes_00.csv")
    assert "attributes_00.csv" in str(err.value)


def test_evaluator_attribute_csvs_are_read_in_an_evaluator_checkout(tmp_path):
    for rel, text in (("ToyCar/attributes_03.csv", TOYCAR_03), ("valve/attributes_05.csv", VALVE_05)):
        p = tmp_path / "dcase2022_evaluator" / "ground_truth_attributes" / rel
        p.parent.mkdir(parents=True)
        p.write_text(text)
    gt = dc.load_ground_truth(tmp_path, 2022)
    assert gt.evaluator[("ToyCar", "section_03_0000.wav")].full_name.startswith("section_03_target_test_anomaly_0011")
    assert gt.evaluator[("valve", "section_05_0001.wav")].full_name.endswith("_v2pat_05.wav")
    assert not gt.ignored


def test_2022_tree_with_evaluator_attribute_csvs_builds_self_consistent_rows(tree22, tmp_path):
    root = _copy(tree22, tmp_path / "t")
    data = root / "ground_truth_data" / "ground_truth_fan_section_03_test.csv"
    rows = [r.split(",") for r in data.read_text().splitlines()]
    victim, old = rows[0]
    rows[0][1] = "0" if old == "1" else "1"  # the evaluator now disagrees with the eval list
    data.write_text("".join(",".join(r) + "\n" for r in rows))
    gt = dc.load_ground_truth(root, 2022)
    report = dc.compare_ground_truth(root, 2022, gt)
    assert [(d.file, d.field) for d in report.disagreements] == [(victim, "label")]
    with pytest.warns(UserWarning, match="contradicts"):
        splits = dc.scan(root, 2022, gt=gt, report=report)
    fan = {Path(f.path).name: f.fields.model_dump() for f in _files(splits, "eval_test") if f.fields.machine == "fan"}
    for name, f in fan.items():
        prov = f["provenance"]
        assert prov["truth"] == "evaluator"
        if prov["full_file_name"]:  # whatever full name a row keeps agrees with its label and domain
            full = dc.parse_dcase_name(2022, prov["full_file_name"], "test")
            assert (full.label, full.domain) == (f["label"], f["domain"]), name
    bad = fan[victim]
    assert bad["label"] == ("anomaly" if old == "0" else "normal")
    assert bad["provenance"]["full_file_name"] == "" and list(bad["attributes"]) == []
    assert report.not_used and victim in report.not_used[0]


def test_corrected_spelling_is_a_naming_difference_not_a_disagreement(tmp_path):
    root = tmp_path / "t"
    synth.write(root, year=2024)
    lst = root / "eval_data_list_2024.csv"
    lines = lst.read_text().splitlines()
    machine = None
    for i, ln in enumerate(lines):
        if "," not in ln:
            machine = ln
        elif machine == "RoboticArm":
            blind, full = ln.split(",")
            lines[i] = f"{blind},{full.replace('_source_', '_source_test_').replace('_target_', '_target_test_')}"
    lst.write_text("\n".join(lines) + "\n")
    report = dc.compare_ground_truth(root, 2024)
    assert not report.disagreements
    assert report.naming_differences and {d.machine for d in report.naming_differences} == {"RoboticArm"}
    assert "naming difference" in report.summary()


# --------------------------------------------------------------------------------------- 2026 hidden
def test_2026_no_attribute_names_resolved_or_listed(tmp_path):
    root = tmp_path / "t"
    synth.write(root, year=2026)
    sew = sorted((root / "eval_data/raw/SewingMachine/train").glob("*.wav"))
    assert sew and all(p.name.endswith("_noAttribute.wav") for p in sew)
    splits = dc.scan(root, 2026)
    rows = [f.fields.model_dump() for f in _files(splits, "eval_train") if f.fields.machine == "SewingMachine"]
    assert rows and all(r["attributes"] and r["provenance"]["full_file_name"] for r in rows)
    shutil.rmtree(root / "ground_truth_attributes_all")
    gt = dc.load_ground_truth(root, 2026)
    report = dc.compare_ground_truth(root, 2026, gt)
    with pytest.warns(UserWarning, match="keep hidden attributes"):
        splits = dc.scan(root, 2026, gt=gt, report=report)
    rows = [f.fields.model_dump() for f in _files(splits, "eval_train") if f.fields.machine == "SewingMachine"]
    assert all(list(r["attributes"]) == [] and r["provenance"]["attributes_hidden"] for r in rows)
    assert len(report.unresolved_hidden) == len(rows)


# --------------------------------------------------------------------------- another year's folder
def test_machine_folder_of_another_year_is_detected(tmp_path):
    t24, t23 = tmp_path / "t24", tmp_path / "t23"
    synth.write(t24, year=2024)
    synth.write(t23, year=2023)
    gear = t23 / "dev_data/raw/gearbox"
    shutil.copytree(t24 / "dev_data/raw/gearbox", gear)
    with pytest.raises(LayoutError, match="another year") as err:
        dc.scan(t23, 2023)
    assert "gearbox" in str(err.value) and "2024" in str(err.value)
    with pytest.warns(UserWarning, match="another year"):
        splits = dc.scan(t23, 2023, strict=False)
    assert not any(f.fields.machine == "gearbox" for fs in splits.values() for f in fs)


# ------------------------------------------------------------------------------- MIMII DUE Table 1
def test_mimii_due_counts_known_discrepancy_of_the_source():
    assert md.SECTION_BY_KEY[("gearbox", 0)].test_source == "165/105"  # Table 1 kept as printed
    rows = ([{"machine": "gearbox", "section": 0, "origin_split": "test", "domain": "source", "label": "normal"}] * 195
            + [{"machine": "gearbox", "section": 0, "origin_split": "test", "domain": "source", "label": "anomaly"}] * 105
            + [{"machine": "fan", "section": 0, "origin_split": "test", "domain": "target", "label": "normal"}] * 99
            + [{"machine": "fan", "section": 0, "origin_split": "test", "domain": "target", "label": "anomaly"}] * 100)  # fmt: skip
    checks = {(c.machine, c.field): c for c in md.compare_counts(md.section_counts(rows))}
    assert checks[("gearbox", "test_source")].status == md.KNOWN_STATUS
    assert checks[("fan", "test_target")].status == "differs"
    assert md.compare_counts({("gearbox", 0, "test_source"): "165/105"})[0].status == "ok"
    assert md.table_totals() != md.PAPER_TOTALS and md.table_totals(real=True) == md.PAPER_TOTALS
    assert any("Total row" in line for line in md.known_issues())


def test_mimii_due_uses_the_declared_scan_policy():
    assert isinstance(md.POLICY, dc.ScanPolicy) and md.POLICY.corpus == "mimii_due"
    assert md.POLICY.part_of("dev", 4) == "eval" and md.POLICY.sections("eval", "fan") == md.SECTIONS
    names = {a.name for a in md.POLICY.extra_attributes("fan", 0, "source")}
    assert names == {"section_snr_db", "domain_shift"}


def test_resolve_does_not_fill_from_an_eval_list_that_contradicts_the_evaluator():
    info = dc.year_info(2022)
    full = "section_03_target_test_anomaly_0000_car_G1.wav"
    ev = dc.Evidence(evaluator_label="normal", eval_list=_entry(full, "anomaly", "target"), eval_list_full_name=full)
    out = dc.resolve(info, _blind(), ev, part="eval")
    assert (out.label, out.domain) == ("normal", "unknown") and out.attributes == () and out.withheld
    agreeing = dc.Evidence(evaluator_label="anomaly", eval_list=_entry(full, "anomaly", "target"),
                           eval_list_full_name=full)  # fmt: skip
    out = dc.resolve(info, _blind(), agreeing, part="eval")
    assert (out.label, out.domain, out.provenance["full_file_name"]) == ("anomaly", "target", full)


def test_year_of_a_metadata_file_is_its_own_or_its_deepest_folders():
    """The official 2023 baseline repository holds the 2024 list and `dcase2024t2/` correspondence CSVs:
    they belong to 2024, not to the `dcase2023` named in the repository folder."""
    meta = REAL_SAMPLES / "meta"
    if not meta.is_dir():
        pytest.skip("shared/real-samples not present")
    gt = dc.load_ground_truth(meta, 2024)
    report = dc.compare_ground_truth(meta, 2024, gt)
    assert report.n_eval_list == report.n_evaluator == report.n_compared == 1800 and not report.disagreements
    assert any("dcase2025t2" in p for p in report.ignored) and not any("dcase2024t2" in p for p in report.ignored)


def test_unreadable_ground_truth_file_is_an_error_or_skipped_whole(tree22, tmp_path):
    root = _copy(tree22, tmp_path / "t")
    bad = root / "ground_truth_attributes" / "fan" / "attributes_03.csv"
    bad.write_text(bad.read_text() + "fan/test/section_03_0099.wav,m-n\n")  # half a pair
    with pytest.raises(ParseError, match="attributes_03.csv"):
        dc.load_ground_truth(root, 2022)
    with pytest.warns(UserWarning, match="not used"):
        gt = dc.load_ground_truth(root, 2022, strict=False)
    assert len(gt.refused) == 1 and "fan/attributes_03.csv" in gt.refused[0]
    assert not any(t.full_name for (m, _), t in gt.evaluator.items() if m == "fan")  # nothing of it used
    assert any(t.full_name for (m, _), t in gt.evaluator.items() if m == "bearing")
    assert dc.compare_ground_truth(root, 2022, gt).refused == gt.refused


def test_resolve_uses_the_agreeing_full_name_when_another_source_disagrees():
    info = dc.year_info(2022)
    ours = "section_03_source_test_normal_0007_car_A1.wav"
    listed = "section_03_target_test_anomaly_0000_car_G1.wav"
    ev = dc.Evidence(evaluator_label="normal", evaluator_domain="source", evaluator_full_name=ours,
                     eval_list=_entry(listed, "anomaly", "target"), eval_list_full_name=listed)  # fmt: skip
    out = dc.resolve(info, _blind(), ev, part="eval")
    assert out.provenance["full_file_name"] == ours and [(a.name, a.value) for a in out.attributes] == [("car", "A1")]
    assert out.withheld == () and out.provenance["quirks"] == ()
