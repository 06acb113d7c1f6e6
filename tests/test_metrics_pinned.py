"""dinos.metrics equals the official DCASE Task 2 evaluators bit for bit (`==`, no tolerance).

Each pin in tests/resources/evaluator_pins/ is the output of one run of an organisers' evaluator
(README there: repository, commit, command) on a set from tests/evaluator_sets.py. Here the same set
is written to a temporary folder, read back with `read_ground_truth` and scored with
`score_submission`; every number the evaluator wrote is compared with the number dinos reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dinos import metrics as M
from dinos.metrics.submission import files_per_domain
from tests.evaluator_sets import SETS, make_set

PINS = Path(__file__).parent / "resources" / "evaluator_pins"
PINNED = sorted(k for k in SETS if (PINS / f"{k[0]}_{k[1]}.json").is_file())
DECISIONS = ("precision", "recall", "F1 score")


def _pin(year: int, name: str) -> dict:
    return json.loads((PINS / f"{year}_{name}.json").read_text(encoding="utf-8"))


def _score(year: int, name: str, tmp_path: Path, decisions: bool = True, ci95: bool = False) -> M.Result:
    s = make_set(year, name)
    gt = s.write_ground_truth(tmp_path / "gt")
    truth = M.read_ground_truth(gt / "eval_data_list.csv" if year == 2020 else gt, year)
    return M.score_submission(year, s.write_submission(tmp_path / "sub", decisions), truth, ci95=ci95)


def _blocks(rows: list[list[str]]):
    """Split an evaluator result CSV into (machine, rows) blocks and the trailing overall rows."""
    blocks, overall, cur = [], [], None
    for r in rows:
        if len(r) == 1 and r[0]:
            cur = (r[0], [])
            blocks.append(cur)
        elif not r:
            cur = None
        elif cur is not None:
            cur[1].append(r)
        else:
            overall.append(r)
    return blocks, overall


def expected_pairs(year: int, pin: dict) -> list[tuple[str, float]]:
    """(dinos address, evaluator value) for every number in the pin. Addresses:
    `sections/<machine>/<section>/<column>`, `machines/<machine>/<column>`, `summary/<key>`."""
    sch = M.get_scheme(year)
    out: list[tuple[str, float]] = []
    blocks, overall = _blocks(pin["result_csv"])
    for machine, rows in blocks:
        header = None
        for r in rows:
            if r[0] in ("id", "section") or r[:3] == ["", "", "AUC"]:
                header = r
                continue
            if not sch.uses_domains:  # 2020: id, AUC, pAUC / Average
                key = "machines" if r[0] == "Average" else f"sections/{machine}/{r[0]}"
                stem = f"machines/{machine}" if r[0] == "Average" else key
                out += [(f"{stem}/AUC", float(r[1])), (f"{stem}/pAUC", float(r[2]))]
            elif files_per_domain(year) and r[0] not in ("arithmetic mean", "harmonic mean"):  # 2021 rows
                sec, dom = r[0], r[1]
                for col, v in zip(("AUC", "pAUC", *DECISIONS), r[2:], strict=True):
                    out.append((f"sections/{machine}/{sec}/{col} ({dom})", float(v)))
            elif r[0] in ("arithmetic mean", "harmonic mean", "source harmonic mean", "target harmonic mean"):
                stat = {"arithmetic mean": "a-mean", "harmonic mean": "h-mean"}.get(r[0], "h-mean")
                dom = {"source harmonic mean": " (source)", "target harmonic mean": " (target)"}.get(r[0], "")
                for col, v in zip(("AUC", "pAUC", *DECISIONS), r[2:], strict=True):
                    if col == "pAUC" and dom:
                        continue  # the pAUC half of a per-domain row: dinos has no such column
                    out.append((f"machines/{machine}/{col} {stat}{dom}", float(v)))
            else:  # 2022+ per-section rows from df.to_csv()
                for col, v in zip(header[1:], r[1:], strict=True):
                    out.append((f"sections/{machine}/{r[0]}/{col}", float(v)))
    for r in overall:
        if r[0] == "official score":
            out.append(("summary/official score", float(r[2])))
        elif r[0] == "official score ci95":
            out.append(("summary/official score ci95", float(r[2])))
        elif r[0].endswith("over all machine types, sections, and domains"):
            stat = "arithmetic mean" if r[0].startswith("arithmetic") else "harmonic mean"
            dom = " (source)" if r[0].startswith("source") else " (target)" if r[0].startswith("target") else ""
            for col, v in zip(("AUC", "pAUC", *DECISIONS), r[2:], strict=True):
                if col == "pAUC" and dom:
                    continue
                if col == "AUC" and files_per_domain(year):
                    key = f"{stat} AUC"
                elif col == "AUC":
                    key = f"{stat}{dom}"
                else:
                    key = f"{stat} {col}{dom}"
                out.append((f"summary/{key}", float(v)))
    frames = pin.get("frames", {})
    for row in frames.get("official_score", {}).values():
        for k, v in row.items():
            if v is None:
                continue
            if k.endswith(("AUC (source)", "AUC (target)")) and k.split(" ")[0] not in ("harmonic", "arithmetic"):
                machine, col = k.split(" ", 1)
                out.append((f"machines/{machine}/{col}", float(v)))
            else:
                out.append((f"summary/{k}", float(v)))
    paper = {"AUC (source)": "arithmetic mean (source)", "AUC (target)": "arithmetic mean (target)",
             "pAUC (source, target)": "arithmetic mean pAUC", "TOTAL score": "total arithmetic mean"}
    for idx, row in frames.get("paper", {}).items():
        metric = idx.strip("()").split(", ", 1)[1].strip("'\"")
        for k, v in row.items():
            if v is None:
                continue
            if k == "a-mean":
                out.append((f"summary/{paper[metric]}", float(v)))
            elif k == "h-mean":
                key = {"AUC (source)": "harmonic mean (source)", "AUC (target)": "harmonic mean (target)",
                       "pAUC (source, target)": "harmonic mean pAUC", "TOTAL score": "official score"}[metric]
                out.append((f"summary/{key}", float(v)))
            else:
                col = {"pAUC (source, target)": "pAUC"}.get(metric, metric)
                out.append((f"machines/{k}/{col}", float(v)))
    for section, rows in frames.get("score", {}).items():
        for row in rows.values():
            for k, v in row.items():
                machine, dom = k.split(" Score ")
                out.append((f"sections/{machine}/{section.split('_')[1]}/mean normal score {dom}", float(v)))
    return out


def actual(result: M.Result, address: str):
    kind, rest = address.split("/", 1)
    if kind == "summary":
        return result.summary.get(rest)
    if kind == "machines":
        machine, col = rest.split("/", 1)
        row = result.machines[result.machines["machine"] == machine]
        return None if row.empty or col not in row else float(row.iloc[0][col])
    machine, section, col = rest.split("/", 2)
    t = result.sections
    row = t[(t["machine"] == machine) & (t["section"] == section)]
    return None if row.empty or col not in row else float(row.iloc[0][col])


# 2022 per-machine source/target harmonic means: the evaluator slices with len(section_ids)//2 (a bug
# dinos does not reproduce; docs/metrics.md, departure 4), so those rows are not compared for 2022.
_SKIP = {2022: (" h-mean (source)", " h-mean (target)")}


def _compare(year: int, name: str, result: M.Result, with_decisions: bool = True) -> int:
    pairs = expected_pairs(year, _pin(year, name))
    checked, wrong = 0, []
    for address, want in pairs:
        if address.startswith("machines/") and address.endswith(_SKIP.get(year, ("\0",))):
            continue
        if not with_decisions and any(f"/{d}" in address or f" {d}" in address for d in DECISIONS):
            continue
        if address == "summary/official score ci95" and "official score ci95" not in result.summary:
            continue
        got = actual(result, address)
        checked += 1
        if got is None or got != want:  # exact: the same float64, not approximately
            wrong.append(f"{address}: dinos {got!r} evaluator {want!r}")
    assert not wrong, f"{len(wrong)} of {checked} numbers differ:\n" + "\n".join(wrong[:20])
    return checked


@pytest.mark.parametrize(("year", "name"), PINNED, ids=[f"{y}-{n}" for y, n in PINNED])
def test_every_number_equals_the_evaluator(year, name, tmp_path):
    result = _score(year, name, tmp_path)
    n = _compare(year, name, result)
    assert n >= 10  # the pin was read: AUC/pAUC per section, means, and the official score where defined
    if result.official_score is not None and year != 2021:
        assert result.official_score == float(next(r[2] for r in _pin(year, name)["result_csv"] if r[:1] == ["official score"]))


@pytest.mark.parametrize("year", sorted({y for y, _ in PINNED if y != 2020}))
def test_without_decision_files_the_auc_numbers_are_unchanged(year, tmp_path):
    name = next(n for y, n in PINNED if y == year)
    result = _score(year, name, tmp_path, decisions=False)
    assert any("precision, recall and F1 not computed" in n for n in result.notes)
    _compare(year, name, result, with_decisions=False)


@pytest.mark.slow  # the jackknife: 2 N roc_auc_score calls
@pytest.mark.parametrize(("year", "name"), [(2022, "synth_a"), (2026, "synth_ties")])
def test_confidence_interval_equals_the_evaluator(year, name, tmp_path):
    result = _score(year, name, tmp_path, ci95=True)
    want = float(next(r[2] for r in _pin(year, name)["result_csv"] if r[:1] == ["official score ci95"]))
    assert result.summary["official score ci95"] == want


def test_every_year_with_an_evaluator_has_two_pinned_sets():
    years = [y for y, _ in PINNED]
    assert {y for y in M.YEARS if M.get_scheme(y).verified} == set(years)
    assert all(years.count(y) >= 2 for y in set(years)), years
