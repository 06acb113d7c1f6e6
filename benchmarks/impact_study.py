"""The issue-15 goal-2 study: pretrain tiny IMPACT on the synthetic DINOS pretraining windows with one
recipe, benchmark it beside its untrained control (same seed) on the six Table-3 rows, 10 repeats.

Usage (one recipe per call; corpus from `dinos synth dinos --out DIR` at the paper's class sizes)::

    nice -n 10 python benchmarks/impact_study.py --data-dir DIR --work WORK --name NAME \
        --objective eat --steps 100 --batch 16 --lr 1e-3 [--ema 0.99] [--ema-end 0.999] ...

Training runs with one torch thread; its CPU time (`time.process_time`) is the budget measure: the
goal's "5 minutes of training on a quiet machine" is 300 s of it. Appends one JSON line per recipe to
WORK/study.jsonl (rows: init, pretrained, delta; collapse metrics at step 0 and at the end).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--objective", default="eat")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--model", default="tiny", help="ImpactConfig preset name")
    ap.add_argument("--set", action="append", default=[], help="ImpactConfig field=value (repeatable)")
    ap.add_argument("--pooling", default="mean")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from dinos.model.benchmark import DEMO_TASKS, run_benchmark
    from dinos.model.impact import ImpactConfig
    from dinos.model.train import Source, TrainConfig, pretrain, pretraining_dataset

    work = Path(args.work)
    cache = work / "cache"
    run_dir = work / args.name / "run"
    cfg = getattr(ImpactConfig, args.model)()
    over = {"objective": args.objective}
    for item in args.set:
        k, v = item.split("=", 1)
        over[k] = type(getattr(cfg, k))(v) if getattr(cfg, k) is not None else v
    cfg = dataclasses.replace(cfg, **over)
    ds = pretraining_dataset([Source("dinos", "pretraining", args.data_dir)], cache_dir=str(cache))
    tc = TrainConfig(lr=args.lr, batch_size=args.batch, max_steps=args.steps, seed=0,
                     checkpoint_every=max(args.steps, 1), device="cpu")
    c0 = time.process_time()
    pre = pretrain(ds, run_dir, cfg, tc, progress=False, resume=False) if not (run_dir / "model.safetensors").exists() \
        else None
    train_cpu = time.process_time() - c0
    log = [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]
    bench = run_benchmark(args.data_dir, work / args.name / "results", run_dir=run_dir, tasks=DEMO_TASKS,
                          repeats=args.repeats, cache_dir=cache, seed=0, progress=False, plots=False,
                          pooling=args.pooling)
    res = bench.results
    rows = {}
    for t, c in res["init_comparison"].items():
        e = res["tasks"][t]
        rows[f"{e['dataset']} {e['metric']}"] = {"init": c["init"], "pretrained": c["pretrained"],
                                                "delta": c["delta"], "beat": bool(c["beat_init"]),
                                                "baseline": e["models"]["baseline"]["mean"]}
    rec = {"name": args.name, "args": vars(args), "model": cfg.to_dict(), "train_cpu_s": round(train_cpu, 1),
           "steps": args.steps, "initial": log[0], "final": log[-1], "rows": rows,
           "wins": sum(r["beat"] for r in rows.values()), "warning": getattr(pre, "collapse", None)}
    with open(work / "study.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps({k: rec[k] for k in ("name", "train_cpu_s", "wins", "warning")}))
    for k, r in rows.items():
        print(f"{k:22s} base {r['baseline']:.4f} init {r['init']:.4f} pre {r['pretrained']:.4f} "
              f"{r['delta']:+.4f} {'WIN' if r['beat'] else ''}")
    i, fl = log[0], log[-1]
    print(f"embed_std {i['embed_std']:.3g}->{fl['embed_std']:.3g} recon_std {i['recon_std']:.3g}->"
          f"{fl['recon_std']:.3g} cos {fl['st_cosine']:.3f}")


if __name__ == "__main__":
    main()
