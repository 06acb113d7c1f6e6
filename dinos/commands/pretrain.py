"""`dinos pretrain`: pretrain IMPACT on DINOS, DCASE Task 2, MIMII DUE or their union (hybrid)."""

from __future__ import annotations

from ._args import (
    add_corpus,
    device,
    existing_dir,
    fraction,
    nonnegative_float,
    nonnegative_int,
    out_dir,
    positive_float,
    positive_int,
)

HELP = "pretrain the IMPACT model (needs the [model] extra) with checkpoints and resume"
DESCRIPTION = """Pretrain IMPACT on 1-s windows of a built corpus. One source:
  dinos pretrain --corpus dinos --config pretraining --data-dir D --out runs/impact
Hybrid (union under the one schema): repeat --source CORPUS:CONFIG:DATA_DIR[:SPLIT], e.g.
  dinos pretrain --source dinos:pretraining:D1 --source dcase_task2:2025-all:D2 --out runs/hybrid
Defaults are the paper's (AdamW 5e-5, wd 1e-5, batch 128, 10 epochs, clip 0.5, AMP on CUDA).
Several processes or machines (DDP; rank 0 writes the run folder):
  torchrun --nproc_per_node=2 -m dinos pretrain --corpus dinos --data-dir D --out runs/impact
On one machine whose host name does not resolve (containers, sandboxes), keep everything on loopback:
  GLOO_SOCKET_IFNAME=lo torchrun --standalone --local-addr 127.0.0.1 --nproc_per_node=2 -m dinos pretrain ...
(otherwise the workers wait for the rendezvous until torch's 30-minute timeout).
An existing run folder is resumed from its last checkpoint. Every log step records the collapse metrics
(teacher reconstruction std, embedding std, student/teacher cosine); a warning is printed when a std
falls below COLLAPSE_FRACTION of its initial value (docs/model.md)."""


def add_arguments(p) -> None:
    add_corpus(p, names=["dinos", "dcase_task2", "mimii_due", "hybrid"], required=False,
               help="corpus of the data (hybrid: give every part with --source)")
    p.add_argument("--config", default=None, help="builder config (default: pretraining / <year>-all / all)")
    p.add_argument("--data-dir", default=None, type=existing_dir, help="unpacked corpus")
    p.add_argument("--split", default="train", help="split of the config to train on (default train)")
    p.add_argument("--source", action="append", default=[], metavar="CORPUS:CONFIG:DIR[:SPLIT]",
                   help="a data source; repeat for the union of corpora")
    p.add_argument("--out", required=True, type=out_dir,
                   help="run folder (config.json, checkpoint.pt, model.safetensors, log.jsonl); new, empty or a "
                        "previous run (resumed)")
    p.add_argument("--preset", choices=["paper", "tiny"], default="paper", help="model size (default paper)")
    p.add_argument("--epochs", type=positive_float, default=10.0, help="passes over the data (default 10)")
    p.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps (overrides --epochs)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="windows per step (default 128)")
    p.add_argument("--lr", type=positive_float, default=5e-5, help="AdamW learning rate (default 5e-5)")
    p.add_argument("--weight-decay", type=nonnegative_float, default=1e-5, help="AdamW weight decay (default 1e-5)")
    p.add_argument("--grad-clip", type=positive_float, default=0.5, help="gradient norm clip (default 0.5)")
    p.add_argument("--mask-ratio", type=fraction, default=None, help="override the preset's mask ratio (0.4)")
    p.add_argument("--ema-decay", type=fraction, default=None, help="override the preset's EMA decay")
    p.add_argument("--objective", choices=["paper", "anchored", "eat"], default="paper",
                   help="paper: the published loss (reconstruction distillation; collapses, docs/model.md); "
                        "anchored: paper + reconstruction of the input log-Mel; "
                        "eat: data2vec/EAT-style normalised teacher-token targets for masked positions")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the initialisation and masking (default 0)")
    p.add_argument("--device", default="auto", type=device,
                   help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:1, mps ...")
    p.add_argument("--amp", choices=["auto", "on", "off"], default="auto", help="mixed precision (auto: on CUDA)")
    p.add_argument("--checkpoint-every", type=positive_int, default=200, help="steps between checkpoints (default 200)")
    p.add_argument("--cache-dir", default=None, help="datasets cache folder")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
    p.add_argument("--force", action="store_true",
                   help="resume a run folder even though its data or configuration differ (recorded anew)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


DEFAULT_CONFIG = {"dinos": "pretraining", "mimii_due": "all"}


def sources_from_args(args) -> list:
    from dinos.errors import DinosError
    from dinos.model.train import Source

    sources = [Source.parse(s) for s in args.source]
    corpus = "dcase_task2" if args.corpus == "dcase" else args.corpus
    if corpus not in (None, "hybrid"):
        if not args.data_dir:
            raise DinosError(f"--corpus {corpus} needs --data-dir")
        config = args.config or DEFAULT_CONFIG.get(corpus)
        if config is None:
            raise DinosError("--corpus dcase_task2 needs --config <year>-all (e.g. 2025-all)")
        sources.insert(0, Source(corpus, config, args.data_dir, args.split))
    elif args.data_dir or args.config:
        raise DinosError("--data-dir/--config go with --corpus dinos|dcase_task2|mimii_due; for hybrid use --source")
    if args.corpus == "hybrid" and len(sources) < 2:
        raise DinosError("--corpus hybrid needs at least two --source entries")
    if not sources:
        raise DinosError("give --corpus with --data-dir, or one or more --source")
    return sources


def run(args) -> int:
    import dataclasses

    from dinos.model.impact import ImpactConfig
    from dinos.model.train import TrainConfig, pretrain, pretraining_dataset

    sources = sources_from_args(args)
    cfg = ImpactConfig.paper() if args.preset == "paper" else ImpactConfig.tiny()
    over = {k: v for k, v in (("mask_ratio", args.mask_ratio), ("ema_decay", args.ema_decay),
                              ("objective", args.objective)) if v is not None}
    cfg = dataclasses.replace(cfg, **over)
    tc = TrainConfig(
        lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size, epochs=args.epochs,
        max_steps=args.max_steps, grad_clip=args.grad_clip, seed=args.seed, device=args.device,
        amp=None if args.amp == "auto" else args.amp == "on", checkpoint_every=args.checkpoint_every,
        sources=[str(s) for s in sources],
    )
    from dinos.model.train import _barrier, dist_setup

    ctx = dist_setup(args.device)  # torchrun: join the process group (world 1 otherwise)
    if not ctx.main:
        _barrier(ctx)  # rank 0 builds the dataset cache first
    ds = pretraining_dataset(sources, cache_dir=args.cache_dir, normalize=cfg.normalize)
    if ctx.main:
        _barrier(ctx)
        print(f"pretraining on {len(ds)} one-second windows from {len(sources)} source(s)"
              + (f", {ctx.world} processes" if ctx.world > 1 else ""))
    try:
        result = pretrain(ds, args.out, cfg, tc, resume=not args.no_resume, force=args.force,
                          progress=not args.quiet)
    finally:
        if ctx.world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if ctx.main:
        print(result)
    return 0
