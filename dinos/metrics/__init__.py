"""DCASE Task 2 official metrics (2020-2026), equal to the organisers' evaluators, and the submission CSVs.

Each year's evaluator procedure is described as data (`schemes.ScoringScheme`, `scheme_for(year)`)
and run by one engine (`engine`). `docs/metrics.md` says which numbers equal the evaluators' bit for
bit, how that was checked (tests/resources/evaluator_pins), and every departure.

Ground truth is a plain `pandas.DataFrame` with columns `file, machine, section, domain, label`
(optional `alias`: a second name a submission may use; optional `part`: `dev` or `eval`).
numpy/pandas/scipy/sklearn only; no torch.
"""

from __future__ import annotations

from ..errors import LayoutError, ParseError
from .core import (
    ScoreError,
    auc,
    decision_metrics,
    harmonic_mean,
    jackknife_ci95,
    mean_of,
    official_ci95,
    pauc,
)
from .engine import (
    Result,
    evaluate,
    get_scheme,
    machine_summary,
    not_from_evaluator,
    official_score,
    ordered_values,
    scheme,
    section_scores,
    summary,
    value_columns,
)
from .schemes import (
    DOMAIN_NAMES,
    EPSILON,
    KINDS,
    LABEL_NAMES,
    MAX_FPR,
    YEARS,
    Aggregate,
    ScoringScheme,
    SectionMetric,
    Values,
    scheme_for,
)
from .submission import (
    PARTS,
    check_submission_folder,
    parse_submission_file_name,
    parts_of,
    read_decisions,
    read_scores,
    score_parts,
    score_submission,
    submission_file_name,
    write_decisions,
    write_scores,
)
from .truth import TRUTH_COLUMNS, normalize_truth, read_ground_truth, truth_from_corpus, truth_from_dataset

__all__ = [
    "DOMAIN_NAMES", "EPSILON", "KINDS", "LABEL_NAMES", "MAX_FPR", "PARTS", "TRUTH_COLUMNS", "YEARS",
    "Aggregate", "LayoutError", "ParseError", "Result", "ScoreError", "ScoringScheme", "SectionMetric", "Values",
    "auc", "check_submission_folder", "decision_metrics", "evaluate", "get_scheme", "harmonic_mean",
    "jackknife_ci95", "machine_summary", "mean_of", "normalize_truth", "not_from_evaluator",
    "official_ci95", "official_score", "ordered_values", "parse_submission_file_name", "parts_of", "pauc",
    "read_decisions", "read_ground_truth", "read_scores", "scheme", "scheme_for", "score_parts",
    "score_submission", "section_scores", "submission_file_name", "summary", "truth_from_corpus",
    "truth_from_dataset", "value_columns", "write_decisions", "write_scores",
]  # fmt: skip
