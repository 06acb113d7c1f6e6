"""Fuzz and property tests for every CSV/JSON reader: DCASE attribute, correspondence, ground-truth and
eval-list CSVs (loaders/dcase_task2/csvs.py, also used by loaders/mimii_due.py), submission and ground-truth
readers (dinos/metrics.py), split files (dinos/splits.py) and export manifests (dinos/export.py).

Inputs are real files from shared/real-samples, mutated (dropped/extra columns, empty lines, BOM,
duplicate rows, unicode, very long fields, path escapes, truncation), plus random text and bytes.
The contract: a reader returns well-typed records that agree with the text, or raises the library's
own error naming the file -- never an IndexError/KeyError/csv.Error, never a silent wrong parse.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dinos import metrics as M
from dinos import splits as S
from dinos.errors import DinosError, UnsafePathError
from dinos.export import EXPORT_MARKER, read_manifest
from dinos.loaders import dcase_task2 as dc
from dinos.loaders import mimii_due as mimii

from .conftest import REAL_SAMPLES

META = REAL_SAMPLES / "meta"
BASELINE = META / "nttcslab_dcase2023_task2_baseline_ae" / "datasets"
EVAL24 = META / "nttcslab_dcase2024_task2_evaluator"

pytestmark = pytest.mark.skipif(not META.is_dir(), reason="shared/real-samples not present")

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seed(rel: Path, limit: int = 700) -> str:
    """The first lines of a real file (whole lines, at most ~`limit` characters)."""
    text = rel.read_text(encoding="utf-8")
    return text[: text.rfind("\n", 0, limit) + 1] if len(text) > limit else text


SEEDS = {
    "attributes": _seed(META / "excerpts" / "YamagamiFuga_dcase2025_dev_fan_attributes_00.EXCERPT.csv"),
    "correspondence": _seed(BASELINE / "ground_truth_attributes" / "dcase2024t2" / "dev_data" / "gearbox"
                            / "attributes_00_train_correspondence.csv"),
    "eval_list_2020": _seed(BASELINE / "eval_data_list_2020.csv"),
    "eval_list_2021": _seed(BASELINE / "eval_data_list_2021.csv"),
    "eval_list_2024": _seed(BASELINE / "eval_data_list_2024.csv"),
    "gt_data": _seed(EVAL24 / "ground_truth_data" / "ground_truth_Scanner_section_00_test.csv"),
    "gt_domain": _seed(EVAL24 / "ground_truth_domain" / "ground_truth_Scanner_section_00_test.csv"),
    "gt_attributes": _seed(EVAL24 / "ground_truth_attributes" / "ground_truth_Scanner_section_00_test.csv"),
    # 2022 evaluator ground_truth_attributes/<m>/attributes_0X.csv: verbatim first rows of the two real shapes
    "attributes_eval22": (
        "file_name,d1p,d1v,d2p,d2v,file_name_with_full_attributes\n"
        "valve/test/section_05_0001.wav,v1pat,05,valve/test/section_05_source_test_normal_0001_v2pat_05.wav\n"
        "ToyCar/test/section_03_0000.wav,car,G2,"
        "ToyCar/test/section_03_target_test_anomaly_0011_car_G2_spd_34V_mic_1_noise_6.wav\n"
    ),
    "scores": _seed(META / "excerpts" / "softwind520_MIMII-DUE_anomaly_score_fan_section_00_source_test.EXCERPT.csv"),
}

#: Adversarial cell values: empty, path escapes, NUL, quotes, separators, BOM, unicode, numbers that
#: Python's float() accepts in odd spellings, a field over the csv module's 128 KiB limit.
NASTY = [
    "", " ", "../x.wav", "../../etc/passwd", "/etc/passwd", "C:\\x.wav", "a/../../b.wav", "\x00", '"', '"a,b"',
    ",", "\r", "\ufeff", "é", "机器_声音.wav", "\U0001f600", "0", "1", "2", "-1", "nan", "inf", "1e309",
    "file_name", "d1p", "d1v", "source_file_name", "fan", "section_00_0001.wav", "x" * 140_000,
    "section_00_source_test_normal_0000_a_b_c.wav", "section_00__source_test_normal_0000.wav",
]


@st.composite
def mutated(draw, key: str) -> str:
    """A real CSV with a few random edits applied."""
    lines = SEEDS[key].splitlines() or [""]
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            lines = [""]
        cells = lines[i].split(",")
        op = draw(st.sampled_from(["blank", "dup", "extra", "replace", "drop", "text", "cut", "bom", "crlf"]))
        if op == "blank":
            lines.insert(i, draw(st.sampled_from(["", " ", ",", " , "])))
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "extra":
            lines[i] += "," + draw(st.sampled_from(NASTY))
        elif op == "replace":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(NASTY))
            lines[i] = ",".join(cells)
        elif op == "drop":
            lines[i] = ",".join(cells[:-1])
        elif op == "text":
            lines[i] = draw(st.text(max_size=40))
        elif op == "cut":
            lines = lines[:i]
        elif op == "bom":
            lines[0:1] = ["\ufeff" + (lines[0] if lines else "")]
        else:
            lines[i] += "\r"
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


RANDOM_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
    st.lists(st.lists(st.sampled_from(NASTY[:-4]), max_size=5).map(",".join), max_size=6).map("\n".join),
)


def texts(key: str):
    return st.one_of(mutated(key), RANDOM_TEXT)


def _own_error(fn, where: str):
    """Run `fn`; return its result, or None if it raised a DinosError naming `where`. Anything else fails."""
    try:
        return fn()
    except DinosError as exc:
        assert exc.path and where in exc.path, f"error does not name {where}: {exc!r}"
        return None


def _rewritten(records, full_column: str | None = None) -> str:
    """The parsed records written back as an attributes CSV (header sized to the widest row)."""
    import csv
    import io

    width = max((len(r.pairs) for r in records.values()), default=1) or 1
    header = ["file_name"] + [f"d{i + 1}{x}" for i in range(width) for x in ("p", "v")]
    if full_column:
        header.append(full_column)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in records.values():
        cells = [c for kv in r.pairs for c in kv]
        cells += [""] * (2 * width - len(cells))
        w.writerow([r.file_name, *cells, *([r.full_name] if full_column else [])])
    return buf.getvalue()


def _data_rows(text: str) -> list[list[str]]:
    """Non-blank rows as Python's csv module reads them (the format's definition, not our parser)."""
    import csv
    import io

    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in r)]


def _lines(text: str) -> int:
    return sum(1 for line in text.lstrip("\ufeff").splitlines() if line.strip(" ,\t"))


# ---------------------------------------------------------------------------------- DCASE CSV parsers
@FUZZ
@given(texts("attributes"))
def test_attributes_csv(text):
    out = _own_error(lambda: dc.parse_attributes_csv(text, "fan/attributes_00.csv"), "attributes_00.csv")
    if out is None:
        return
    # properties, not a second parser: every record comes from the text, records are at most the data
    # lines, and writing the records back and parsing again gives the same records
    assert len(out) <= max(_lines(text) - 1, 0)
    for rec in out.values():
        assert rec.file_name in text
        assert all(isinstance(k, str) and k and isinstance(v, str) for k, v in rec.pairs)
        assert all(k in text and v in text for k, v in rec.pairs)
    if out:
        assert dc.parse_attributes_csv(_rewritten(out), "again.csv") == out


@FUZZ
@given(texts("attributes_eval22"))
def test_evaluator_attributes_csv(text):
    """The 2022 evaluator shape: a record per row, its full name (when any) the row's last cell."""
    out = _own_error(lambda: dc.parse_attributes_csv(text, "valve/attributes_05.csv"), "attributes_05.csv")
    if out is None:
        return
    assert len(out) <= max(_lines(text) - 1, 0)
    for rec in out.values():
        assert rec.file_name in text and (rec.full_name == "" or rec.full_name in text)
        assert all(k in text and v in text for k, v in rec.pairs)


@FUZZ
@given(st.sampled_from(["gt_data", "gt_domain", "gt_attributes"]), st.data())
def test_ground_truth_csv(key, data):
    text = data.draw(texts(key))
    kind = key.split("_", 1)[1]
    out = _own_error(lambda: dc.parse_ground_truth_csv(text, "ground_truth_x_section_00_test.csv", kind),
                     "ground_truth_x_section_00_test.csv")
    if out is None:
        return
    rows = _data_rows(text)
    assert len(out) == len(rows) and out
    for name, values in out.items():
        assert "/" not in name and name
        if kind in ("data", "domain"):
            assert values in (("0",), ("1",))
        else:
            assert len(values) in (1, 2) and all(values)


@FUZZ
@given(texts("correspondence"))
def test_correspondence_csv(text):
    out = _own_error(lambda: dc.parse_correspondence_csv(text, "attributes_00_train_correspondence.csv"),
                     "attributes_00_train_correspondence.csv")
    if out is None:
        return
    rows = _data_rows(text)
    assert rows[0] == ["source_file_name", "target_file_name"] and len(out) == len(rows) - 1
    assert {(full, dist) for dist, full in out.items()} == {(r[0], r[1]) for r in rows[1:]}


@FUZZ
@given(st.sampled_from([2020, 2021, 2024]), st.data())
def test_eval_data_list(year, data):
    text = data.draw(texts(f"eval_list_{year}"))
    out = _own_error(lambda: dc.parse_eval_data_list(text, f"eval_data_list_{year}.csv", year),
                     f"eval_data_list_{year}.csv")
    if out is None:
        return
    info = dc.year_info(year)
    for (machine, blind), entry in out.items():
        assert machine in info.machines and entry.blind_name == blind
        assert entry.label in ("normal", "anomaly", "unknown") and entry.domain in ("source", "target", "unknown")
        assert dc.parse_dcase_name(year, entry.full_name, "test").section == dc.parse_dcase_name(year, blind, "test").section


@pytest.mark.parametrize("parse, text", [
    (lambda t: dc.parse_ground_truth_csv(t, "gt.csv", "data"), "section_00_0001.wav,0\n../../section_00_0002.wav,1\n"),
    (lambda t: dc.parse_ground_truth_csv(t, "gt.csv", "attributes"), "/abs/section_00_0001.wav,x,y\n"),
    (lambda t: dc.parse_correspondence_csv(t, "gt.csv"),
     "source_file_name,target_file_name\n../a_pro_A.wav,section_00_source_train_normal_0001_noAttribute.wav\n"),
    (lambda t: dc.parse_eval_data_list(t, "gt.csv", 2024),
     "fan\n../section_00_0001.wav,section_00_source_test_normal_0001_a_1.wav\n"),
    (lambda t: dc.parse_attributes_csv(t, "gt.csv"), "file_name,d1p,d1v\n../../fan/train/x.wav,a,1\n"),
])
def test_names_escaping_their_folder_are_refused(parse, text):
    """A name that climbs out (`..`) or is absolute is an error naming the CSV and line, not a basename."""
    with pytest.raises(UnsafePathError) as info:
        parse(text)
    assert "gt.csv line" in info.value.path


NAME_FIELDS = st.tuples(st.integers(0, 5), st.integers(0, 9999), st.sampled_from(["source", "target"]),
                        st.sampled_from(["normal", "anomaly"]))


@FUZZ
@given(st.lists(NAME_FIELDS, min_size=1, max_size=8, unique_by=lambda f: f[1]), st.booleans(), st.booleans(),
       st.sampled_from(["\n", "\r\n"]))
def test_ground_truth_round_trip(fields, bom, blank_lines, eol):
    """Well-formed ground truth with BOM, CRLF and blank lines parses to exactly what was written."""
    want = {dc.format_dcase_name(2024, section=s, number=n, blind=True): ("1" if lab == "anomaly" else "0",)
            for s, n, _, lab in fields}
    lines = [f"{name},{v[0]}" for name, v in want.items()]
    if blank_lines:
        lines = [x for line in lines for x in (line, "", " ")]
    text = ("\ufeff" if bom else "") + eol.join(lines) + eol
    assert dc.parse_ground_truth_csv(text, "gt.csv", "data") == want


# ---------------------------------------------------------------------------------- metrics readers
def _write(text: str, name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="dinos-fuzz-"))
    p = d / name
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    return p


@FUZZ
@given(st.one_of(texts("scores"), texts("gt_data")))
def test_read_scores_and_decisions(text):
    p = _write(text, "anomaly_score_fan_section_00_test.csv")
    scores = _own_error(lambda: M.read_scores(p), str(p))
    if scores is not None:
        rows = _data_rows(text)
        assert len(scores) == len(rows) and all(math.isfinite(v) for v in scores.values())
        assert {n: float(r[1]) for n, r in zip(scores, rows, strict=True)} == scores
        assert all(n and n == n.strip() for n in scores)
    decisions = _own_error(lambda: M.read_decisions(p), str(p))
    if decisions is not None:
        assert set(decisions.values()) <= {0, 1} and len(decisions) == len(_data_rows(text))


@FUZZ
@given(st.sampled_from([2020, 2021, 2024]), st.data())
def test_read_ground_truth_eval_list(year, data):
    p = _write(data.draw(texts(f"eval_list_{year}")), f"eval_data_list_{year}.csv")
    frame = _own_error(lambda: M.read_ground_truth(p, year), str(p))
    if frame is not None:
        assert list(frame.columns[:5]) == list(M.TRUTH_COLUMNS) and len(frame)
        assert set(frame["label"]) <= set(M.LABEL_NAMES) and set(frame["domain"]) <= set(M.DOMAIN_NAMES)


@FUZZ
@given(texts("gt_data"), texts("gt_domain"), texts("gt_attributes"))
def test_read_ground_truth_evaluator_dir(labels, domains, attributes):
    root = Path(tempfile.mkdtemp(prefix="dinos-fuzz-"))
    name = "ground_truth_Scanner_section_00_test.csv"
    for kind, text in (("data", labels), ("domain", domains), ("attributes", attributes)):
        (root / f"ground_truth_{kind}").mkdir()
        (root / f"ground_truth_{kind}" / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    frame = _own_error(lambda: M.read_ground_truth(root, 2024), str(root))
    if frame is not None:
        assert len(frame) == len(_data_rows(labels)) == len(_data_rows(domains))
        assert set(frame["machine"]) == {"Scanner"} and set(frame["section"]) == {0}


def test_over_long_field_is_a_parse_error(tmp_path):
    """The csv module's field-size limit surfaced as csv.Error before; now a ParseError naming the file."""
    p = tmp_path / "anomaly_score_fan_section_00_test.csv"
    p.write_text("a.wav,1\n" + "b" * 200_000 + ",2\n", encoding="utf-8")
    with pytest.raises(M.ParseError, match="line 2") as info:
        M.read_scores(p)
    assert info.value.path == str(p)


# ---------------------------------------------------------------------- ground truth over a MIMII tree
@FUZZ
@given(texts("eval_list_2021"), st.sampled_from(["eval_data_list_2021.csv",
                                                  "ground_truth_fan_section_03_source_test.csv"]))
def test_mimii_due_ground_truth_files(text, name):
    """MIMII DUE reads the 2021 eval list and 2021 evaluator files with the DCASE readers."""
    root = Path(tempfile.mkdtemp(prefix="dinos-fuzz-"))
    (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    gt = _own_error(lambda: dc.load_ground_truth(root, mimii.YEAR), name)
    if gt is not None:
        assert all(m in mimii.MACHINES + tuple(dc.YEAR_TABLE[2021].machines) for m, _ in gt.evaluator)


# ------------------------------------------------------------------------------------ split files
def _split_record(ids: list[str] | None = None) -> dict:
    ids = ids or [f"VF2/{c}/clip_{i:03d}.wav#0" for c in ("on", "off") for i in range(8)]
    labels = ["on"] * 8 + ["off"] * 8
    return S.build_split_record("T0", ids, labels, ids, corpus="dinos", config="vf2", variant=S.VARIANTS[0],
                                label_column="class_name", repeats=2)


@pytest.fixture(scope="module")
def split_text(tmp_path_factory) -> str:
    return S.write_split_file(tmp_path_factory.mktemp("split") / "T0.json", _split_record()).read_text("utf-8")


@FUZZ
@given(st.data())
def test_split_file_mutations(split_text, data):
    """Flipped, cut or inserted characters: a SplitError naming the file (the checksum catches edits)."""
    text = split_text
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["cut", "insert", "replace"]))
        ch = data.draw(st.sampled_from(["", "0", "1", '"', "{", "]", ",", "\\", "é", "\x00", "../"]))
        text = text[:i] if op == "cut" else text[:i] + ch + text[i + (op == "replace"):]
    p = _write(text, "T0.json")
    rec = _own_error(lambda: S.load_split_file(p), str(p))
    if rec is not None:  # only an edit that changes nothing the checksum covers can load
        assert json.loads(text) == json.loads(split_text)


@pytest.mark.parametrize("bad", ["../../etc/passwd#0", "/abs/clip.wav#0", "\x00#0", "#0"])
def test_split_file_with_escaping_clip_id_is_refused(tmp_path, bad):
    """Even a correctly checksummed file may not list clip ids whose path leaves data_dir."""
    ids = [f"VF2/{c}/clip_{i:03d}.wav#0" for c in ("on", "off") for i in range(8)]
    ids[3] = bad
    rec = _split_record(ids)
    rec["content_sha256"] = S.content_checksum(rec)
    p = tmp_path / "T0.json"
    p.write_text(S.canonical_json(rec), encoding="utf-8")
    with pytest.raises(S.SplitError, match="clip id") as info:
        S.load_split_file(p)
    assert info.value.path == str(p)


# --------------------------------------------------------------------------------- export manifests
MANIFEST = {
    "corpus": "dinos", "sampling_rate": 48000, "options": {}, "dinos_version": "0", "format": "dinos-export",
    "version": 1,
    "configs": {"vf2": {"train": {"num_rows": 2, "num_bytes": 10, "shards": [
        {"path": "data/vf2/train-00000.parquet", "num_rows": 2, "num_bytes": 10, "sha256": "0" * 64}]}}},
}
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**40), st.floats(), st.text(max_size=20),
                        st.sampled_from(["../x.parquet", "/etc/passwd", "", "data/../../x"]),
                        st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@st.composite
def manifests(draw) -> str:
    m = json.loads(json.dumps(MANIFEST))
    shard = m["configs"]["vf2"]["train"]["shards"][0]
    target = draw(st.sampled_from([m, m["configs"]["vf2"]["train"], shard]))
    key = draw(st.sampled_from(sorted(target) + ["extra"]))
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(JSON_VALUES)
    text = json.dumps(m)
    return text[: draw(st.integers(len(text) // 2, len(text)))] if draw(st.booleans()) else text


@FUZZ
@given(manifests())
def test_export_manifest_mutations(text):
    d = Path(tempfile.mkdtemp(prefix="dinos-fuzz-"))
    (d / EXPORT_MARKER).write_text(text, encoding="utf-8")
    m = _own_error(lambda: read_manifest(d), EXPORT_MARKER)
    if m is not None:
        for splits in m.configs.values():
            for info in splits.values():
                assert isinstance(info.num_rows, int) and info.num_rows >= 0
                for sh in info.shards:
                    assert isinstance(sh.path, str) and ".." not in sh.path.split("/") and not sh.path.startswith("/")
                    assert isinstance(sh.num_rows, int) and isinstance(sh.num_bytes, int)
