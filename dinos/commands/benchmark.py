"""`dinos benchmark RUN`: the paper's protocol (Tables 3/4) or official DCASE scores, IMPACT vs baseline."""

from __future__ import annotations

from ._args import add_corpus, device, existing_dir, nonnegative_int, out_dir, positive_int

HELP = "benchmark an IMPACT run against the log-Mel baseline and its untrained control (DINOS or DCASE; needs the [model] extra)"
DESCRIPTION = """Your own model beside them: --embedder my_module:embed (or hear:my_hear_module).
DINOS (default): every Monte Carlo task, 10 repeats, linear probe / autoencoder head:
  dinos benchmark runs/impact --data-dir D --out results/
DCASE Task 2 / MIMII DUE (official split and metrics):
  dinos benchmark runs/impact --corpus dcase_task2 --config 2023-all --data-dir D --out results/"""


def add_arguments(p) -> None:
    p.add_argument("run", nargs="?", default=None, help="IMPACT run folder (omit to score the baseline only)")
    add_corpus(p, names=["dinos", "dcase_task2", "mimii_due"], default="dinos",
               help="corpus to benchmark on (default dinos: the paper's tasks)")
    p.add_argument("--config", default=None, help="DCASE/MIMII config (e.g. 2023-all, all)")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="the unpacked corpus (published layout)")
    p.add_argument("--out", default="results", type=out_dir, help="results folder (default ./results)")
    p.add_argument("--task", action="append", default=None, help="DINOS task(s), e.g. dinos/T6-T17 (default all)")
    p.add_argument("--repeats", type=positive_int, default=None, help="use only the first N of the 10 repeats")
    p.add_argument("--splits-dir", default=None, type=existing_dir, help="folder holding split files (default: the shipped ones)")
    p.add_argument("--variant", choices=["synthetic", "real"], default=None,
                   help="which split files (default: whichever matches --data-dir)")
    p.add_argument("--pooling", choices=["mean", "cls", "layers", "cls+mean", "tokens"], default="mean",
                   help="how IMPACT token embeddings become one vector per clip (default mean)")
    p.add_argument("--branch", choices=["student", "teacher"], default="student",
                   help="which IMPACT encoder embeds (default student)")
    p.add_argument("--probe", choices=["linear", "mlp"], default="linear",
                   help="classification head: linear (default; the paper's text: one FC layer) or mlp "
                        "(Table 5: 384->256 ReLU->classes)")
    p.add_argument("--asd-head", choices=["linear-out", "table5"], default="linear-out",
                   help="ASD autoencoder: linear-out (default: ReLU on hidden layers only) or table5 (ReLU after "
                        "every layer, as Table 5 lists)")
    p.add_argument("--embedder", action="append", default=[], metavar="MODULE:FUNCTION|hear:MODULE",
                   help="also benchmark your own model: a callable embed(batch, sample_rate) -> (batch, dim), or a "
                        "HEAR-API module (docs/benchmark.md); repeatable")
    p.add_argument("--normalize", choices=["run", "none", "rms", "zscore", "rms+zscore"], default="run",
                   help="recording normalisation of the benchmark data (default: the run's, i.e. rms+zscore for "
                        "the paper preset, none for tiny); applies to every model")
    p.add_argument("--no-init-control", action="store_true",
                   help="leave out the IMPACT (init) row (the untrained network with the run's seed)")
    p.add_argument("--device", default="cpu", type=device, help="cpu (default), cuda, cuda:N, mps or auto")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the heads and the init control (default 0)")
    p.add_argument("--cache-dir", default=None, help="datasets cache and embedding cache folder")
    p.add_argument("--no-plots", action="store_true", help="write no figures (default: plots/*.png: per-class AP, spectra, ROC curves, "
                                                                 "score histograms)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    # the seeds' own models (dinos.model.baselines; DCASE / MIMII DUE only): see docs/baselines.md
    from dinos.model.baselines.registry import MODELS as BASELINES

    p.add_argument("--model", action="append", default=None, choices=list(BASELINES),
                   help="also train and score a seed baseline (repeatable): on dcase_task2/mimii_due every section, "
                        "on DINOS the anomaly tasks T26/T27 (docs/baselines.md)")
    p.add_argument("--model-preset", default="paper", help="baseline preset: paper (default), cpu, tiny")
    p.add_argument("--model-epochs", type=positive_int, default=None, help="override the baseline preset's epochs")


def run(args) -> int:
    from dinos.model.benchmark import init_verdict, run_benchmark, run_dcase_benchmark
    from dinos.model.external import load_embedder

    if args.model:
        from dinos.model.baselines.asd import run_from_args

        return run_from_args(args)
    models = ["baseline"] + ((["impact"] if args.no_init_control else ["impact_init", "impact"]) if args.run else [])
    custom = {e.name: e for e in (load_embedder(spec) for spec in args.embedder)}
    models += list(custom)
    if args.corpus == "dinos":
        res = run_benchmark(
            args.data_dir, args.out, run_dir=args.run, tasks=args.task, models=models, repeats=args.repeats,
            cache_dir=args.cache_dir, splits_dir=args.splits_dir, variant=args.variant, device=args.device,
            pooling=args.pooling, branch=args.branch, seed=args.seed, progress=not args.quiet,
            plots=not args.no_plots, probe=args.probe, asd_head=args.asd_head, custom=custom,
            normalize=None if args.normalize == "none" else args.normalize,
        )
        print((res.out_dir / "table3.md").read_text())
        verdict = init_verdict(res.results)
        if verdict:
            print(verdict)
        print(f"results in {res.out_dir} ({res.seconds:.1f} s)")
        return 0
    config = args.config or ("all" if args.corpus == "mimii_due" else None)
    if config is None:
        raise SystemExit("--corpus dcase_task2 needs --config <year>-all or <year>-<machine>")
    run_dcase_benchmark(args.data_dir, args.out, corpus=args.corpus, config=config, run_dir=args.run,
                        models=models, custom=custom, cache_dir=args.cache_dir, device=args.device, pooling=args.pooling,
                        branch=args.branch, seed=args.seed, progress=not args.quiet, plots=not args.no_plots)
    print(open(f"{args.out}/dcase.md", encoding="utf-8").read())
    return 0
