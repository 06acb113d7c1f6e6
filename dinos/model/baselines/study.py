"""The drill study's protocol (seed 002) on your own labelled clips: a log-Mel image CNN trained on the
original training clips and on the same clips plus VAE-synthesised ones, scored on the test clips.

Why not `dinos benchmark --model`: the study is supervised (normal AND anomalous training clips, a
70/30 hold-out), while the DCASE / MIMII DUE protocol of `dinos benchmark` trains on normal clips only;
its data (Valmet, private) has no loader. Any labelled corpus works instead, through a protocol split
file (`dinos splits make --protocol holdout`):

    dinos splits make --corpus folder --data-dir DRILL --protocol holdout --test-fraction 0.3 --out split.json
    python -m dinos.model.baselines.study --splits split.json --data-dir DRILL --out results/
    dinos score asd --splits split.json --scores results/scores/mel_cnn_vae.csv --threshold 0.5

Per class one `WaveVAE` is trained on that class' training clips and `synthesize` adds `synthetic`
clips of it (default: as many as the class has training clips); each classifier scores the test clips
with its softmax probability of `anomaly` (decided anomalous at 0.5). Outputs: `drill_study.md` (one
table: ours beside the study's Table II, real data), `drill_study.json`, `scores/<model>.csv`
(clip_id,score: what `dinos score asd --scores` reads).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dinos.errors import DinosError

from .trainer import Clip, fit, score

#: the classifier variants of the study's Table II: (name, label, with VAE clips?)
VARIANTS = (("mel_cnn", "log-Mel CNN, original clips", False), ("mel_cnn_vae", "log-Mel CNN, original + VAE clips", True))


@dataclass
class StudyReport:
    """Per variant: training clips, the decision at 0.5 on the test clips (`dinos.metrics.decisions`)."""

    rows: list[dict] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # variant -> clip id -> score
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"rows": self.rows, "notes": self.notes}

    def to_markdown(self, data_label: str = "your data") -> str:
        from .reference import DRILL_SOURCE, DRILL_TABLE2

        lines = ["# The drill study's protocol: VAE augmentation + log-Mel image CNN", "",
                 *[f"Note: {n}" for n in self.notes], *([""] if self.notes else []),
                 "| model | data | training clips | test clips | accuracy | anomaly recall | AUC |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            auc = "-" if r["auc"] is None else f"{r['auc']:.4f}"
            lines.append(f"| {r['label']} | ours, {data_label} | {r['train_clips']} | {r['test_clips']} | "
                         f"{r['accuracy']:.4f} | {r['recall_anomaly']:.4f} | {auc} |")
        for key, (label, clips, acc) in DRILL_TABLE2.items():
            lines.append(f"| {label} | paper, real data (Valmet drill, {key}) | {clips} (all, 70/30) | - | "
                         f"{acc:.4f} | - | - |")
        lines += ["", f"Paper rows: {DRILL_SOURCE}; AlexNet (ImageNet weights) on the real Valmet clips, not "
                  "comparable in value with ours. Its stated gain (6.62 % / 10.15 %) is inconsistent: see "
                  "docs/baselines.md."]
        return "\n".join(lines) + "\n"


def _side_clips(ds, labels: dict[str, str]) -> list[Clip]:
    out = []
    for row in ds:
        audio = row["audio"]
        out.append(Clip(wave=np.asarray(audio["array"], dtype=np.float32), sample_rate=int(audio["sampling_rate"]),
                        label=labels[row["clip_id"]], file=Path(row["path"]).name, clip_id=row["clip_id"]))
    return out


def run_drill_study(split_file, data_dir, out_dir=None, *, fold: int = 0, channel: int = 0, vae_preset: str = "paper",
                    vae_epochs: int | None = None, cnn_epochs: int | None = None, image: int = 64,
                    synthetic: int | None = None, seed: int = 0, cache_dir=None) -> StudyReport:
    """Train and score the two variants on one fold of a hold-out (or k-fold) protocol split file of
    labelled clips (`normal` / `anomaly`); see the module docstring. Writes to `out_dir` when given."""
    from dinos import protocols
    from dinos.metrics import decisions as D

    from .drill import VAE_PRESETS, MelImageClassifier, WaveVAE, synthesize

    record = protocols.load(split_file)
    if record["protocol"] == "asd":
        raise DinosError("the drill study is supervised: make a holdout or kfold split file, not asd", split_file)
    if vae_preset not in VAE_PRESETS:
        raise DinosError(f"unknown VAE preset {vae_preset!r}; presets: {', '.join(VAE_PRESETS)}")
    sides = protocols.datasets_of(record, data_dir, fold=fold, cache_dir=cache_dir, channel=channel)
    clips = {s: _side_clips(sides[s], protocols.side_clips(record, s, fold)) for s in ("train", "test") if s in sides}
    if not clips.get("train") or not clips.get("test"):
        raise DinosError(f"fold {fold} of the split file needs train and test clips", split_file)
    train, test = clips["train"], clips["test"]
    classes = sorted({c.label for c in train})
    if len(classes) < 2:
        raise DinosError(f"the training side holds one label only ({classes}); the classifier needs two", split_file)
    report = StudyReport()
    synth: list[Clip] = []
    for k, label in enumerate(classes):
        own = [c for c in train if c.label == label]
        vae = WaveVAE(vae_preset)
        base = vae.default_fit()
        fit(vae, own, replace(base, epochs=base.epochs if vae_epochs is None else vae_epochs, seed=seed + k))
        n = len(own) if synthetic is None else synthetic
        synth += [Clip(wave=w, sample_rate=own[0].sample_rate, label=label, file=f"vae_{label}_{i}",
                       clip_id=f"vae:{label}:{i}") for i, w in enumerate(synthesize(vae, n, seed=seed + k))]
    report.notes.append(f"VAE clips: {len(synth)} ({vae_preset} preset, {VAE_PRESETS[vae_preset].length} samples "
                        f"at {train[0].sample_rate} Hz) added to {len(train)} original training clips")
    truth = [c.label for c in test]
    for name, label, augmented in VARIANTS:
        cnn = MelImageClassifier(image=image)
        base = cnn.default_fit()
        cfg = replace(base, epochs=base.epochs if cnn_epochs is None else cnn_epochs, seed=seed)
        data = train + synth if augmented else train
        fit(cnn, data, cfg)
        s = score(cnn, test, seed=seed)
        rep = D.report(truth, s, 0.5, rule="value")
        c = rep.confusion
        report.rows.append({"model": name, "label": label, "train_clips": len(data), "test_clips": len(test),
                            "accuracy": c.accuracy, "recall_anomaly": c.recall, "auc": rep.auc,
                            "threshold": 0.5, "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn})
        report.scores[name] = {t.clip_id: float(v) for t, v in zip(test, s, strict=True)}
    if out_dir is not None:
        _write(Path(out_dir), report, data_dir)
    return report


def _write(out: Path, report: StudyReport, data_dir) -> None:
    from dinos import io
    from dinos.cards import synthetic_source

    label = "synthetic data" if synthetic_source(data_dir) is not None else f"data in {Path(data_dir).name}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores").mkdir(exist_ok=True)
    for name, mapping in report.scores.items():
        text = "clip_id,score\n" + "".join(f"{cid},{v:.10g}\n" for cid, v in mapping.items())
        io.write_text(out / "scores" / f"{name}.csv", text)
    io.write_text(out / "drill_study.json", json.dumps(report.to_dict(), indent=2) + "\n")
    io.write_text(out / "drill_study.md", report.to_markdown(label))


def main(argv: list[str] | None = None) -> int:
    """`python -m dinos.model.baselines.study --splits FILE --data-dir D --out DIR [...]`."""
    p = argparse.ArgumentParser(prog="python -m dinos.model.baselines.study", description=__doc__.split("\n\n")[0])
    p.add_argument("--splits", required=True, help="holdout/kfold protocol split file (dinos splits make)")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--channel", type=int, default=0)
    p.add_argument("--vae-preset", default="paper", help="paper (1,999 samples) or tiny (256)")
    p.add_argument("--vae-epochs", type=int, default=None)
    p.add_argument("--cnn-epochs", type=int, default=None)
    p.add_argument("--synthetic", type=int, default=None, help="VAE clips per class (default: its training clips)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", default=None)
    a = p.parse_args(argv)
    try:
        rep = run_drill_study(a.splits, a.data_dir, a.out, fold=a.fold, channel=a.channel, vae_preset=a.vae_preset,
                              vae_epochs=a.vae_epochs, cnn_epochs=a.cnn_epochs, synthetic=a.synthetic, seed=a.seed,
                              cache_dir=a.cache_dir)
    except DinosError as exc:
        print(f"error: {exc}")
        return 1
    print(rep.to_markdown())
    print(f"results in {a.out} (drill_study.md, drill_study.json, scores/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
