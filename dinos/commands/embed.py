"""`dinos embed RUN`: IMPACT (or baseline) embeddings of a built corpus config, written to a folder."""

from __future__ import annotations

from ._args import add_corpus, device, existing_dir, out_dir, positive_int

HELP = "extract IMPACT or log-Mel baseline embeddings of a corpus config (needs the [model] extra)"


def add_arguments(p) -> None:
    p.add_argument("run", nargs="?", default=None, help="IMPACT run folder (omit with --model baseline)")
    add_corpus(p, help="corpus of the config")
    p.add_argument("--config", required=True, help="builder config, e.g. yornew or 2023-all")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="the unpacked corpus (published layout)")
    p.add_argument("--split", action="append", default=None, help="split(s) to embed (default: all)")
    p.add_argument("--out", required=True, type=out_dir, help="output folder: <corpus>_<config>.npz/.csv/.json")
    p.add_argument("--model", choices=["impact", "baseline"], default="impact",
                   help="impact (default; needs RUN) or the log-Mel statistics baseline")
    p.add_argument("--pooling", choices=["mean", "cls", "layers", "cls+mean", "tokens"], default="mean",
                   help="how IMPACT token embeddings become one vector per clip (default mean)")
    p.add_argument("--branch", choices=["student", "teacher"], default="student",
                   help="which IMPACT encoder embeds (default student)")
    p.add_argument("--device", default="cpu", type=device, help="cpu (default), cuda, cuda:N, mps or auto")
    p.add_argument("--batch-size", type=positive_int, default=32, help="clips per forward pass (default 32)")
    p.add_argument("--cache-dir", default=None, help="datasets cache and embedding cache folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from pathlib import Path

    from dinos.model.benchmark import make_embedders
    from dinos.model.embed import cached_embeddings, load_corpus, metadata_frame, write_embeddings

    emb = make_embedders(args.run, [args.model], device=args.device, pooling=args.pooling,
                         branch=args.branch)[args.model]
    ds = load_corpus(args.corpus, args.config, args.data_dir, splits=args.split, cache_dir=args.cache_dir)
    cache = None if args.cache_dir is None else Path(args.cache_dir) / "embeddings"
    ids, X = cached_embeddings(ds, emb, cache, batch_size=args.batch_size, progress=not args.quiet)
    info = {"model": args.model, "run": args.run, "pooling": args.pooling, "branch": args.branch,
            "corpus": args.corpus, "config": args.config, "fingerprint": emb.fingerprint}
    path = write_embeddings(args.out, f"{args.corpus}_{args.config}", ids, X, metadata_frame(ds), info)
    print(f"wrote {len(ids)} embeddings of dimension {X.shape[1]} to {path}")
    return 0
