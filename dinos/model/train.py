"""Pretraining IMPACT on any built dataset (or the union of corpora), with checkpoints and resume.

Run folder layout (everything written atomically: temp name in the folder, then `os.replace`)::

    run/config.json         model + training configuration and the data sources
    run/model.safetensors   student and teacher weights (keys `student.*`, `teacher.*`)
    run/state.pt            optimiser, AMP scaler, step, masking RNG state (torch.save)
    run/log.jsonl           one line per logged step: step, loss, frame_loss, utterance_loss

Determinism: parameters are initialised after `torch.manual_seed(seed)`; the clip order of epoch `e` is
a permutation drawn from `numpy.random.default_rng([seed, e])`; masks come from a torch generator seeded
with `seed` whose state is checkpointed. Resuming at step k therefore continues exactly where an
uninterrupted run would be (on the same device and library versions).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from dinos.errors import DinosError, LayoutError

from .frontend import prepare_waveforms
from .impact import Impact, ImpactConfig, count_parameters

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.pt"
LOG_FILE = "log.jsonl"


@dataclass
class TrainConfig:
    """Optimiser and schedule; defaults are the paper's (AdamW 5e-5, wd 1e-5, batch 128, 10 epochs, clip 0.5)."""

    lr: float = 5e-5
    weight_decay: float = 1e-5
    batch_size: int = 128
    epochs: float = 10.0
    max_steps: int | None = None  # overrides epochs when set
    grad_clip: float = 0.5
    amp: bool | None = None  # None: on for CUDA, off on CPU
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    device: str = "auto"
    sources: list[str] = field(default_factory=list)  # description of the data, for the record


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _atomic(path: Path, write) -> None:
    from ..io import write_with

    write_with(path, write)


def write_json(path: Path, obj) -> None:
    """Atomically write canonical JSON."""
    _atomic(Path(path), lambda t: Path(t).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def save_weights(model: Impact, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    _atomic(Path(path), lambda t: save_file(state, str(t), metadata={"format": "pt", "model": "IMPACT"}))


def load_run(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> Impact:
    """The model of a run folder (config.json + model.safetensors), in eval mode."""
    from safetensors.torch import load_file

    run = Path(run_dir)
    cfg_path, weights = run / CONFIG_FILE, run / WEIGHTS_FILE
    if not cfg_path.is_file():
        raise LayoutError(f"not an IMPACT run folder: {CONFIG_FILE} missing", run)
    if not weights.is_file():
        raise LayoutError(f"{WEIGHTS_FILE} missing (pretraining never checkpointed?)", run)
    try:
        meta = json.loads(cfg_path.read_text())
        cfg = ImpactConfig.from_dict(meta["model"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DinosError(f"unreadable run configuration ({exc})", cfg_path) from None
    model = Impact(cfg)
    try:
        state = load_file(str(weights))
        model.load_state_dict(state)
    except (RuntimeError, OSError) as exc:
        raise DinosError(f"weights do not match the configuration ({str(exc)[:300]})", weights) from None
    return model.to(resolve_device(str(device)) if isinstance(device, str) else device).eval()


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _decode_batch(ds, idx: np.ndarray, frontend_cfg) -> torch.Tensor:
    rows = ds[[int(i) for i in idx]]
    return prepare_waveforms(rows["audio"], frontend_cfg)


@dataclass
class PretrainResult:
    run_dir: Path
    steps: int
    final_loss: float
    seconds: float
    parameters: int

    def __str__(self) -> str:
        return (
            f"pretrained IMPACT ({self.parameters:,} parameters per branch) for {self.steps} steps "
            f"in {self.seconds:.1f} s; final loss {self.final_loss:.4f}; run folder {self.run_dir}"
        )


def pretrain(
    dataset,
    run_dir: str | os.PathLike,
    model_config: ImpactConfig | None = None,
    train_config: TrainConfig | None = None,
    *,
    resume: bool = True,
    progress: bool = True,
) -> PretrainResult:
    """Pretrain IMPACT on `dataset` (rows with a decoded `audio` column, e.g. `dinos.load_dataset(...,
    segment="1s")`), writing checkpoints to `run_dir`. With `resume`, an existing run continues from
    its last checkpoint (its configuration must match)."""
    from tqdm.auto import tqdm

    tc = train_config or TrainConfig()
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    n = len(dataset)
    if n == 0:
        raise DinosError("pretraining dataset is empty", run)
    has_ckpt = (run / STATE_FILE).is_file() and (run / WEIGHTS_FILE).is_file()
    if has_ckpt and not resume:
        raise DinosError("run folder already holds a checkpoint; pass resume or use a new folder", run)
    if has_ckpt:
        meta = json.loads((run / CONFIG_FILE).read_text())
        saved_cfg = ImpactConfig.from_dict(meta["model"])
        if model_config is not None and model_config != saved_cfg:
            raise DinosError("model configuration differs from the checkpoint's; cannot resume", run)
        model_config = saved_cfg
    mc = model_config or ImpactConfig.paper()
    device = resolve_device(tc.device)
    amp = (device.type == "cuda") if tc.amp is None else bool(tc.amp)
    amp_dtype = torch.bfloat16 if device.type != "cuda" or torch.cuda.is_bf16_supported() else torch.float16

    seed_everything(tc.seed)
    model = Impact(mc).to(device)
    opt = torch.optim.AdamW(model.student.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and amp_dtype == torch.float16)
    gen = torch.Generator().manual_seed(tc.seed)
    steps_per_epoch = math.ceil(n / tc.batch_size)
    total = tc.max_steps if tc.max_steps is not None else math.ceil(tc.epochs * steps_per_epoch)
    step = 0
    if has_ckpt:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(run / WEIGHTS_FILE)))
        state = torch.load(run / STATE_FILE, map_location=device, weights_only=True)
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        gen.set_state(state["mask_rng"].cpu())
        step = int(state["step"])
    meta = {
        "model": mc.to_dict(),
        "train": asdict(tc),
        "parameters_per_branch": count_parameters(model.student),
        "dataset_rows": n,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total,
    }
    write_json(run / CONFIG_FILE, meta)

    def checkpoint() -> None:
        save_weights(model, run / WEIGHTS_FILE)
        state = {
            "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict(),
            "mask_rng": gen.get_state(),
            "step": torch.tensor(step),
        }
        _atomic(run / STATE_FILE, lambda t: torch.save(state, t))

    t0 = time.perf_counter()
    last = float("nan")
    bar = tqdm(total=total, initial=step, desc="pretrain", unit="step", disable=not progress)
    model.student.train()
    with open(run / LOG_FILE, "a", encoding="utf-8") as log:
        while step < total:
            epoch, pos = divmod(step, steps_per_epoch)
            idx = _batches(n, tc.batch_size, tc.seed, epoch)[pos]
            wave = _decode_batch(dataset, idx, mc.frontend).to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp):
                out = model(wave, generator=gen)
            opt.zero_grad(set_to_none=True)
            scaler.scale(out.loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.student.parameters(), tc.grad_clip)
            scaler.step(opt)
            scaler.update()
            model.update_teacher()
            step += 1
            last = float(out.loss.detach())
            if not math.isfinite(last):
                raise DinosError(f"loss became {last} at step {step}", run)
            bar.update(1)
            bar.set_postfix(loss=f"{last:.4f}")
            if step % tc.log_every == 0 or step == total:
                rec = {"step": step, "epoch": epoch, "loss": last, "frame_loss": float(out.frame_loss.detach()),
                       "utterance_loss": float(out.utterance_loss.detach())}
                log.write(json.dumps(rec) + "\n")
                log.flush()
            if step % tc.checkpoint_every == 0 or step == total:
                checkpoint()
    bar.close()
    if not (run / WEIGHTS_FILE).is_file():  # total == 0 steps requested
        checkpoint()
    return PretrainResult(run, step, last, time.perf_counter() - t0, count_parameters(model.student))


# ------------------------------------------------------------------------------------------------
# Data sources: one corpus, or the union of several (hybrid)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """`corpus:config:data_dir[:split]`, e.g. `dinos:pretraining:/data/DINOS` (split default `train`)."""

    corpus: str
    config: str
    data_dir: str
    split: str = "train"

    @classmethod
    def parse(cls, text: str) -> Source:
        parts = text.split(":")
        if len(parts) > 4 and len(parts[2]) == 1:  # a Windows drive letter in the path
            parts = parts[:2] + [parts[2] + ":" + parts[3]] + parts[4:]
        if len(parts) not in (3, 4) or not all(parts):
            raise DinosError(f"data source must read corpus:config:data_dir[:split], got {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.corpus}:{self.config}:{self.data_dir}:{self.split}"


def pretraining_dataset(sources: Sequence[Source], *, segment: str = "1s", cache_dir: str | None = None):
    """1-s windows of every source, concatenated under the shared schema, audio decoded (channel 0).

    Sources at other rates than 48 kHz keep their rate here; the front end resamples each clip.
    """
    import datasets

    import dinos

    if not sources:
        raise DinosError("no pretraining data source given")
    parts = []
    for src in sources:
        ds = dinos.load_dataset(
            src.corpus, src.config, data_dir=src.data_dir, split=src.split, decode=False,
            cache_dir=cache_dir, segment=segment, tail="pad",
        )
        parts.append(ds)
    ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    return dinos.decode_audio(ds, channel=0)
