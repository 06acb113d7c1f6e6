"""The DCASE / MIMII DUE anomalous-sound-detection protocol for the seeds' baselines.

`run_asd_benchmark(corpus, config, data_dir, ...)`: loads the corpus config at its native sample rate
(channel 0; no resampling), and per machine type trains one model on the normal `train` clips and
scores the labelled `test` clips. The per-clip scores are written as the official submission CSVs
and scored by `dinos.metrics.evaluate` (the year's AUC / pAUC rules). For MIMII DUE the
paper's Table 4 values (task registry, read through `reference.py`) are put beside ours.

Sections: by default MIMII DUE follows the paper (train and score sections 00-02, the development
sections); DCASE years use every section that has labelled test clips. A section classifier
(MobileNetV2) needs at least two classes: where the protocol's sections of a machine type give fewer
(the synthetic miniature has one development section per type) it trains on every training section
of that type, and the report says so in a note; it scores the same sections as the other models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dinos.errors import DinosError

from .registry import MODELS, build_model
from .trainer import Clip, FitConfig, fit, score


# ------------------------------------------------------------------------------------------------
# Loading clips
# ------------------------------------------------------------------------------------------------
def _names(ds, column: str) -> list:
    from dinos.schema import decoded_column

    return decoded_column(ds, column)


def _clips(dd, keep: Callable[[Clip], bool] | None = None, *, decode: bool = True) -> dict[str, list[Clip]]:
    """Clips of a loaded DatasetDict; only rows `keep` accepts (judged on metadata) are decoded.
    With `decode=False` the clips carry metadata only (an empty `wave`)."""
    import dinos

    out: dict[str, list[Clip]] = {"train": [], "test": []}
    empty = np.zeros(0, dtype=np.float32)
    for split, ds in dd.items():
        side = split.rsplit("_", 1)[-1]
        if side not in out or not len(ds):
            continue
        meta = ds.with_format(None)
        cols = {c: _names(meta, c) for c in ("machine", "section", "domain", "label")}
        paths = list(meta["path"])
        ids = list(meta["clip_id"]) if "clip_id" in meta.column_names else [""] * len(paths)
        rows = [Clip(wave=empty, sample_rate=0, machine=str(cols["machine"][i]), section=int(cols["section"][i]),
                     domain=str(cols["domain"][i]), label=str(cols["label"][i]), file=Path(paths[i]).name,
                     clip_id=str(ids[i]))
                for i in range(len(ds))]
        idx = [i for i, c in enumerate(rows) if keep is None or keep(c)]
        if not decode:
            out[side] += [rows[i] for i in idx]
            continue
        decoded = dinos.decode_audio(ds.select(idx), channel=0)
        for j, i in enumerate(idx):
            audio = decoded[j]["audio"]
            out[side].append(replace(rows[i], wave=np.asarray(audio["array"], dtype=np.float32),
                                     sample_rate=int(audio["sampling_rate"])))
    return out


def _load(corpus: str, config: str, data_dir, cache_dir=None):
    import dinos

    return dinos.load_dataset(corpus, config, data_dir=data_dir, decode=False, cache_dir=cache_dir)


def load_clips(corpus: str, config: str, data_dir, *, cache_dir=None,
               keep: Callable[[Clip], bool] | None = None) -> dict[str, list[Clip]]:
    """`{"train": [...], "test": [...]}` clips of a DCASE-style corpus config, native rate, channel 0.

    Every builder split whose name ends in `train` / `test` joins that side (`dev_train` ...). `keep`
    (called with a metadata-only clip) selects the rows to decode; the others are left out.
    """
    dd = _load(corpus, config, data_dir, cache_dir)
    out = _clips(dd, keep)
    if not out["train"] or not out["test"]:
        raise DinosError(f"{corpus}/{config} needs train and test clips; has splits {sorted(dd)}", data_dir)
    return out


def challenge_year(corpus: str, config: str) -> int:
    """The DCASE year whose metric rules apply (from the corpus' config facts)."""
    from dinos.loaders import builder_class

    info = builder_class(corpus).INFO
    year = info.config(config).year
    if year is None:
        raise DinosError(f"{corpus}/{config} names no challenge year")
    return int(year)


def default_sections(corpus: str) -> tuple[int, ...] | None:
    """The paper protocol's sections: MIMII DUE's development sections; None (all) otherwise."""
    if corpus == "mimii_due":
        from dinos.loaders import mimii_due

        return tuple(mimii_due.DEV_SECTIONS)
    return None


# ------------------------------------------------------------------------------------------------
# The protocol
# ------------------------------------------------------------------------------------------------
@dataclass
class AsdReport:
    """Scores of every model: `results[model]` is `dinos.metrics.Result`; `frames[model]` the per-clip
    scores; `comparison` rows put the papers' real-data figures beside ours."""

    corpus: str
    config: str
    year: int
    results: dict = field(default_factory=dict)
    frames: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    comparison: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "corpus": self.corpus, "config": self.config, "year": self.year, "notes": self.notes,
            "timing": self.timing, "comparison": self.comparison,
            "models": {m: r.to_dict() for m, r in self.results.items()},
        }

    def summary_rows(self) -> list[dict]:
        """One row per model (for a combined table with other models): label, official score, the
        arithmetic mean of every AUC cell, and the paper's mean over the same cells where it has them all."""
        out = []
        for m, r in self.results.items():
            auc_cols = [c for c in r.sections.columns if c.startswith("AUC")]
            refs = [row["paper_auc"] for row in self.comparison if row["model"] == m]
            out.append({
                "model": m, "label": MODELS[m].label, "official_score": r.official_score,
                "mean_auc": float(np.mean(r.sections[auc_cols].to_numpy(dtype=float))),
                "paper_mean_auc": float(np.mean(refs)) if refs and None not in refs else None,
                "seconds_per_epoch": self.timing[m]["seconds_per_epoch"],
            })
        return out

    def to_markdown(self) -> str:
        lines = [f"# {self.corpus} {self.config}: the seeds' baselines (DCASE {self.year} metrics)", ""]
        lines += [f"Note: {n}" for n in self.notes] + ([""] if self.notes else [])
        lines += ["| model | official score | mean AUC | paper mean AUC, same cells (real data) | train s / epoch |",
                  "|---|---:|---:|---:|---:|"]
        for row in self.summary_rows():
            off = "-" if row["official_score"] is None else f"{row['official_score']:.4f}"
            ref = "-" if row["paper_mean_auc"] is None else f"{row['paper_mean_auc']:.4f}"
            lines.append(f"| {row['label']} | {off} | {row['mean_auc']:.4f} | {ref} | "
                         f"{row['seconds_per_epoch']:.3f} |")
        if self.comparison:
            lines += ["", "## Beside the paper (MIMII DUE Table 4, AUC)", "",
                      "Paper figures are on the REAL MIMII DUE data; ours are on the data passed here "
                      "(usually the synthetic miniature), so only the layout is comparable.", "",
                      "| model | machine | section | domain | ours AUC | ours pAUC | paper AUC (real data) |",
                      "|---|---|---|---|---:|---:|---:|"]
            for row in self.comparison:
                ref = "-" if row["paper_auc"] is None else f"{row['paper_auc']:.3f}"
                lines.append(f"| {MODELS[row['model']].label} | {row['machine']} | {row['section']:02d} | "
                             f"{row['domain']} | {row['auc']:.4f} | {row['pauc']:.4f} | {ref} |")
        for m, r in self.results.items():
            lines += ["", f"## {MODELS[m].label}", "", r.to_markdown()]
        return "\n".join(lines) + "\n"


def _comparison(model: str, result) -> list[dict]:
    from .reference import mimii_due_reference

    rows = []
    for rec in result.sections.to_dict("records"):
        for dom in ("source", "target"):
            if f"AUC ({dom})" not in rec:
                continue
            rows.append({"model": model, "machine": rec["machine"], "section": int(rec["section"]), "domain": dom,
                         "auc": float(rec[f"AUC ({dom})"]), "pauc": float(rec.get(f"pAUC ({dom})", np.nan)),
                         "paper_auc": mimii_due_reference(model, rec["machine"], int(rec["section"]), dom)})
    return rows


def run_asd_benchmark(
    corpus: str,
    config: str,
    data_dir,
    out_dir=None,
    *,
    models: Sequence[str] = ("mimii_due_ae",),
    preset: str = "paper",
    epochs: int | None = None,
    sections: Sequence[int] | None = None,
    seed: int = 0,
    cache_dir=None,
    progress: bool = False,
    device: str = "cpu",
) -> AsdReport:
    """Train and score each baseline on `corpus/config` (see the module docstring); writes
    `baselines.json`, `baselines.md`, `submissions/<model>/anomaly_score_*.csv` and
    `scores/<model>.csv` (clip_id,score: what `dinos score asd --scores` reads) to `out_dir` if given.

    `epochs` overrides every model's preset epoch count; `sections` the scored (and AE-trained) sections;
    `device` (`cpu`, `cuda[:n]`, `auto`) where the models train and score (features are computed on
    the CPU). Only the CPU path is tested.
    """
    import pandas as pd

    from dinos import metrics as M

    for m in models:
        if m not in MODELS:
            raise DinosError(f"unknown baseline {m!r}; known: {', '.join(MODELS)}")
        if preset not in MODELS[m].presets:
            raise DinosError(f"baseline {m} has no preset {preset!r}; presets: {', '.join(MODELS[m].presets)}")
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    year = challenge_year(corpus, config)
    dd = _load(corpus, config, data_dir, cache_dir)
    meta = _clips(dd, decode=False)  # metadata only: audio is decoded one machine type at a time
    if not meta["train"] or not meta["test"]:
        raise DinosError(f"{corpus}/{config} needs train and test clips; has splits {sorted(dd)}", data_dir)
    wanted = tuple(sections) if sections is not None else default_sections(corpus)
    report = AsdReport(corpus, config, year)
    unknown = sum(c.label not in ("normal", "anomaly") for c in meta["test"])
    if unknown:
        report.notes.append(f"{unknown} test clip(s) without ground truth (blind evaluation) are not scored")

    def scored(c: Clip) -> bool:
        return c.label in ("normal", "anomaly") and (wanted is None or c.section in wanted)

    machines = sorted({c.machine for c in meta["test"] if scored(c)})
    if not machines:
        raise DinosError(f"{corpus}/{config}: no labelled test clips in sections {wanted}", data_dir)
    rows: dict[str, list[dict]] = {m: [] for m in models}
    seconds = dict.fromkeys(models, 0.0)
    n_epochs = dict.fromkeys(models, 0)
    rates: dict[str, set] = {m: set() for m in models}
    for machine in machines:
        clips = _clips(dd, lambda c, mt=machine: c.machine == mt and (c.label == "normal" or scored(c)))
        test = [c for c in clips["test"] if scored(c)]
        for m in models:
            spec = MODELS[m]
            normal = [c for c in clips["train"] if c.label == "normal"]
            train = [c for c in normal if wanted is None or c.section in wanted]
            if spec.needs_sections and len({c.section for c in train}) < 2 and len({c.section for c in normal}) > 1:
                train = normal
                report.notes.append(
                    f"{m}: {machine} has fewer than two training sections in {list(wanted or [])}; the section "
                    f"classifier trains on all of its sections {sorted({c.section for c in normal})}")
            if not train:
                raise DinosError(f"{m}: no normal training clips for {machine}", data_dir)
            model = build_model(m, preset, seed)
            base = model.default_fit()
            cfg = FitConfig(epochs=base.epochs if epochs is None else int(epochs), batch_size=base.batch_size,
                            lr=base.lr, weight_decay=base.weight_decay, seed=seed)
            fit_report = fit(model, train, cfg, progress=progress, device=device)
            rates[m].add(model.sample_rate)
            seconds[m] += sum(fit_report.epoch_seconds)
            n_epochs[m] += len(fit_report.epoch_seconds)
            for c, s in zip(test, score(model, test, seed=seed), strict=True):
                rows[m].append({"machine": machine, "section": c.section, "domain": c.domain, "label": c.label,
                                "file": c.file, "clip_id": c.clip_id, "score": float(s)})
    for m in models:
        frame = pd.DataFrame(rows[m])
        result = M.evaluate(year, frame)
        report.results[m] = result
        report.frames[m] = frame
        report.timing[m] = {"seconds": round(seconds[m], 3), "epochs": n_epochs[m], "machines": len(machines),
                            "seconds_per_epoch": seconds[m] / max(n_epochs[m], 1), "sample_rates": sorted(rates[m])}
        if corpus == "mimii_due":
            report.comparison += _comparison(m, result)
    if out_dir is not None:
        _write(Path(out_dir), report)
    return report


def _write(out: Path, report: AsdReport) -> None:
    from dinos import metrics as M

    out.mkdir(parents=True, exist_ok=True)
    for m, frame in report.frames.items():
        folder = out / "submissions" / m
        folder.mkdir(parents=True, exist_ok=True)
        by_file: dict[str, dict[str, float]] = {}
        for r in frame.itertuples(index=False):
            dom = r.domain if M.scheme(report.year) == "2021" else None
            name = M.submission_file_name(report.year, r.machine, int(r.section), dom)
            by_file.setdefault(name, {})[r.file] = float(r.score)
        for name, mapping in by_file.items():
            M.write_scores(folder / name, mapping)
    for m, frame in report.frames.items():  # the form `dinos score asd --scores` reads (decisions, thresholds)
        csv_text = frame[["clip_id", "score"]].to_csv(index=False, lineterminator="\n", float_format="%.10g")
        (out / "scores").mkdir(exist_ok=True)
        _atomic_text(out / "scores" / f"{m}.csv", csv_text)
    _atomic_text(out / "baselines.json", json.dumps(report.to_dict(), indent=2, default=float) + "\n")
    _atomic_text(out / "baselines.md", report.to_markdown())


def _atomic_text(path: Path, text: str) -> None:
    # dinos.io.atomic_path; (dinos.io.write_text opens its temp file with mode "wx", which Python refuses)
    from dinos import io

    with io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _run_baselines(args) -> int:
    """`dinos benchmark --model NAME ...` (the CLI hunk in dinos/commands/benchmark.py calls this)."""
    if args.corpus not in ("dcase_task2", "mimii_due"):
        raise SystemExit("--model (a seed baseline) needs --corpus dcase_task2 or mimii_due")
    config = args.config or ("all" if args.corpus == "mimii_due" else None)
    if config is None:
        raise SystemExit("--corpus dcase_task2 needs --config <year>-all or <year>-<machine>")
    report = run_asd_benchmark(args.corpus, config, args.data_dir, args.out, models=list(dict.fromkeys(args.model)),
                               preset=args.model_preset, epochs=args.model_epochs, seed=args.seed,
                               cache_dir=args.cache_dir, progress=not args.quiet, device=args.device)
    if not getattr(args, "no_plots", False):  # ROC curves and score histograms per model and machine type
        from ..plots import plot_asd_results

        plot_asd_results(report.results, Path(args.out) / "plots", labels={m: MODELS[m].label for m in MODELS},
                         corpus=f"{args.corpus} {config}")
    print(report.to_markdown())
    print(f"results in {args.out} (baselines.md, baselines.json, submissions/, plots/)")
    return 0


def data_label(data_dir, corpus: str) -> str:
    """How "ours" is marked in the tables: synthetic when the tree carries the `dinos synth` marker."""
    from dinos.cards import synthetic_source

    if synthetic_source(data_dir) is not None:
        return f"synthetic {corpus} data"
    return f"{corpus} data in {Path(data_dir).name} (no synthetic marker)"


def run_from_args(args) -> int:
    """`dinos benchmark [RUN] --corpus dcase_task2|mimii_due|dinos --model NAME ...` (the CLI hunk in
    dinos/commands/benchmark.py calls this): trains and scores the named seed baselines AND the
    embedding models of the plain benchmark on the same data (the log-Mel statistics baseline, IMPACT
    (init) and IMPACT when RUN is given, every --embedder), then writes ONE table with every model
    (DCASE / MIMII DUE: `table.md`, `dinos.model.report.asd_table`; DINOS: table3.md / table4.md, the
    baselines on the anomaly-detection tasks T26 / T27 only, `dinos_asd.add_dinos_rows`)."""
    if args.corpus == "dinos":
        return _run_dinos(args)
    code = _run_baselines(args)  # the baselines (baselines.md / .json, submissions/, scores/)
    if code:
        return code
    from dinos.model.benchmark import run_dcase_benchmark
    from dinos.model.external import load_embedder
    from dinos.model.report import write_asd_table

    config = args.config or ("all" if args.corpus == "mimii_due" else None)
    run = getattr(args, "run", None)
    models = ["baseline"] + ((["impact"] if getattr(args, "no_init_control", False) else ["impact_init", "impact"])
                             if run else [])
    custom = {e.name: e for e in (load_embedder(spec) for spec in getattr(args, "embedder", None) or [])}
    run_dcase_benchmark(args.data_dir, args.out, corpus=args.corpus, config=config, run_dir=run,
                        models=models + list(custom), custom=custom, cache_dir=args.cache_dir, device=args.device,
                        pooling=getattr(args, "pooling", "mean"), branch=getattr(args, "branch", "student"),
                        seed=args.seed, progress=not args.quiet, plots=not getattr(args, "no_plots", False))
    table = write_asd_table(Path(args.out), data_label(args.data_dir, args.corpus),
                            labels={m: spec.label for m, spec in MODELS.items()})
    print(table.read_text(encoding="utf-8"))
    print(f"results in {args.out} ({table.name}: every model in one table; dcase.md, dcase_results.json, "
          "scores/)")
    return 0


def _run_dinos(args) -> int:
    """The DINOS benchmark (as `dinos benchmark [RUN]`) plus the seed baselines' rows on T26 / T27."""
    from dinos.model.benchmark import init_verdict, run_benchmark
    from dinos.model.external import load_embedder
    from dinos.model.report import write_results

    from .dinos_asd import add_dinos_rows, check_models

    check_models(args.model, args.model_preset)  # before the embedding models run
    models = ["baseline"] + ((["impact"] if args.no_init_control else ["impact_init", "impact"]) if args.run else [])
    custom = {e.name: e for e in (load_embedder(spec) for spec in args.embedder)}
    res = run_benchmark(
        args.data_dir, args.out, run_dir=args.run, tasks=args.task, models=models + list(custom),
        repeats=args.repeats, cache_dir=args.cache_dir, splits_dir=args.splits_dir, variant=args.variant,
        device=args.device, pooling=args.pooling, branch=args.branch, seed=args.seed, progress=not args.quiet,
        plots=not args.no_plots, probe=args.probe, asd_head=args.asd_head, custom=custom,
        normalize=None if args.normalize == "none" else args.normalize,
    )
    add_dinos_rows(res.results, args.data_dir, list(dict.fromkeys(args.model)), preset=args.model_preset,
                   epochs=args.model_epochs, seed=args.seed, cache_dir=args.cache_dir, splits_dir=args.splits_dir,
                   variant=args.variant, repeats=args.repeats, normalize=res.results["meta"].get("normalize"),
                   device=args.device)
    write_results(Path(args.out), res.results)
    print((Path(args.out) / "table3.md").read_text(encoding="utf-8"))
    verdict = init_verdict(res.results)
    if verdict:
        print(verdict)
    print(f"results in {args.out} (table3.md and table4.md: every model in one table each)")
    return 0
