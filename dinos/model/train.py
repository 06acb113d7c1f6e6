"""Pretraining IMPACT on any built dataset (or the union of corpora), with checkpoints and resume.

Run folder layout (an `dinos.io.OutputDir` of the tool `dinos pretrain`; every file atomic)::

    run/config.json         model + training configuration, the data sources, initial collapse metrics
    run/checkpoint.pt       THE resume unit: student+teacher weights, optimiser, AMP scaler, step,
                            masking RNG state -- one file, so weights and optimiser can never disagree
    run/model.safetensors   the weights again for embedding (`load_run`); metadata `step`
    run/log.jsonl           one line per logged step: losses and the collapse metrics

Determinism: parameters are initialised after `torch.manual_seed(seed)`; the clip order of epoch `e` is
a permutation drawn from `numpy.random.default_rng([seed, e])`; masks come from a torch generator seeded
with `seed` whose state is checkpointed. Resuming at step k therefore continues exactly where an
uninterrupted run would be (on the same device and library versions); log lines after the checkpoint's
step (written before a kill) are dropped on resume, so no step is listed twice.

Collapse metrics (`Impact.diagnostics`, on a fixed probe batch of `PROBE_CLIPS` clips): logged at step 0
and every `log_every` steps; a warning is printed when `recon_std` or `embed_std` falls below
`COLLAPSE_FRACTION` of its step-0 value.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from dinos.errors import DinosError, LayoutError
from dinos.io import OutputDir, atomic_path, read_marker
from dinos.io import write_json as _io_write_json

from .frontend import prepare_waveforms
from .impact import Impact, ImpactConfig, count_parameters

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.pt"
LOG_FILE = "log.jsonl"
TOOL = "pretrain"  # the `dinos pretrain` command, as dinos.io.OutputDir names it
#: a collapse warning fires when recon_std or embed_std drops below this fraction of its step-0 value
COLLAPSE_FRACTION = 0.2
#: clips in the fixed batch the collapse metrics are computed on
PROBE_CLIPS = 32
#: TrainConfig fields that may change between a run and its resumption (length, logging, hardware)
RESUMABLE_CHANGES = ("epochs", "max_steps", "checkpoint_every", "log_every", "device", "amp")


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
    """`auto`: CUDA if available, else Apple MPS if available, else CPU; any other name as given."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def write_json(path: Path, obj) -> None:
    """Atomically write canonical JSON (sorted keys)."""
    _io_write_json(path, obj, sort_keys=True)


def save_weights(model: Impact, path: Path, step: int | None = None) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "model": "IMPACT"}
    if step is not None:
        meta["step"] = str(step)
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)


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


def probe_indices(n: int, k: int = PROBE_CLIPS) -> np.ndarray:
    """The fixed clips the collapse metrics use: `k` evenly spaced row indices (all rows if fewer)."""
    return np.unique(np.linspace(0, n - 1, num=min(k, n)).round().astype(np.int64))


def collapse_warnings(metrics: dict, initial: dict, fraction: float = COLLAPSE_FRACTION,
                      keys: tuple[str, ...] = ("recon_std", "embed_std")) -> list[str]:
    """Messages for every collapse metric of `keys` below `fraction` of its initial value (pure).
    With `objective="eat"` the decoder is outside the loss, so only `embed_std` is checked."""
    out = []
    for key in keys:
        if key in metrics and initial.get(key, 0) > 0 and metrics[key] < fraction * initial[key]:
            out.append(f"{key} {metrics[key]:.4g} < {fraction:g} x its initial {initial[key]:.4g}: "
                       "the representation is collapsing toward a constant")
    return out


def read_log(path: Path, up_to_step: int | None = None) -> list[dict]:
    """Records of a run log (unreadable trailing lines from a kill are dropped), optionally <= a step."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            if up_to_step is None or rec["step"] <= up_to_step:
                out.append(rec)
    return out


# ------------------------------------------------------------------------------------------------
# Distributed data parallel (torchrun)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistContext:
    """This process' place in a torch.distributed job (world 1, rank 0 without one)."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def dist_setup(device: str = "auto") -> DistContext:
    """Join the process group that `torchrun` describes in the environment (WORLD_SIZE, RANK,
    LOCAL_RANK, MASTER_ADDR/PORT); backend NCCL for CUDA, gloo otherwise. Idempotent; world 1 when
    not launched by torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and resolve_device(device).type == "cuda"
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(dist.get_world_size(), dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")))


def _barrier(ctx: DistContext) -> None:
    if ctx.world > 1:
        import torch.distributed as dist

        dist.barrier()


def shard(idx: np.ndarray, ctx: DistContext) -> np.ndarray:
    """This rank's part of a global batch (the distributed sampler: rank r takes rows r, r + world, ...).
    The global batch, and so the epoch's clip order, is the same whatever the world size."""
    return idx[ctx.rank :: ctx.world]


class _LossModule(torch.nn.Module):
    """The unit DDP wraps: wave -> (loss, frame loss, utterance loss) of the student."""

    def __init__(self, model: Impact):
        super().__init__()
        self.model = model

    def forward(self, wave: torch.Tensor, generator: torch.Generator):
        out = self.model(wave, generator=generator)
        return out.loss, out.frame_loss, out.utterance_loss


def _rank_mask_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0])


@dataclass
class PretrainResult:
    run_dir: Path
    steps: int
    final_loss: float
    seconds: float
    parameters: int
    initial_metrics: dict = field(default_factory=dict)
    final_metrics: dict = field(default_factory=dict)
    collapse: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"pretrained IMPACT ({self.parameters:,} parameters per branch) for {self.steps} steps "
            f"in {self.seconds:.1f} s; final loss {self.final_loss:.4f}; run folder {self.run_dir}"
        )
        if self.initial_metrics and self.final_metrics:
            i, f = self.initial_metrics, self.final_metrics
            text += (f"\ncollapse metrics (step 0 -> {self.steps}): teacher reconstruction std "
                     f"{i['recon_std']:.4g} -> {f['recon_std']:.4g}, embedding std {i['embed_std']:.4g} -> "
                     f"{f['embed_std']:.4g}, student/teacher cosine {i['st_cosine']:.3f} -> {f['st_cosine']:.3f}")
        for msg in self.collapse:
            text += f"\nWARNING: {msg}"
        return text


def _resume_key(meta: dict) -> dict:
    train = {k: v for k, v in meta.get("train", {}).items() if k not in RESUMABLE_CHANGES}
    return {"model": meta.get("model"), "train": train, "dataset_rows": meta.get("dataset_rows")}


def _read_previous(run: Path, resume: bool) -> dict | None:
    """The configuration of a previous run in `run` (to resume), or None for a fresh run."""
    marker = read_marker(run) if run.is_dir() else None
    if marker is None or marker.get("tool") != TOOL or not (run / CHECKPOINT_FILE).is_file():
        return None
    if not resume:
        raise DinosError("run folder already holds a checkpoint; pass resume or use a new folder", run)
    try:
        return json.loads((run / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise DinosError(f"unreadable run configuration ({exc})", run / CONFIG_FILE) from None


def _open_run(run: Path, resume: bool) -> tuple[OutputDir, dict | None]:
    """The run folder guard: a new or empty folder, or a previous `dinos pretrain` run (to resume)."""
    previous = _read_previous(run, resume)
    return OutputDir.open(run, tool=TOOL, overwrite=True), previous


def pretrain(
    dataset,
    run_dir: str | os.PathLike,
    model_config: ImpactConfig | None = None,
    train_config: TrainConfig | None = None,
    *,
    resume: bool = True,
    force: bool = False,
    progress: bool = True,
) -> PretrainResult:
    """Pretrain IMPACT on `dataset` (rows with a decoded `audio` column, e.g. `dinos.load_dataset(...,
    segment="1s")`), writing checkpoints to `run_dir`.

    `run_dir` must be new, empty, or a previous run of this function (a folder holding anything else
    is refused: no user file is overwritten). With `resume`, a previous run continues from its last
    checkpoint; a different model/training configuration, data sources or dataset size is refused
    unless `force` (then the new configuration is recorded and training continues from the weights).
    """
    from tqdm.auto import tqdm

    tc = train_config or TrainConfig()
    run = Path(run_dir)
    n = len(dataset)
    if n == 0:
        raise DinosError("pretraining dataset is empty", run)
    ctx = dist_setup(tc.device)
    if ctx.world > 1 and tc.batch_size < ctx.world:
        raise DinosError(f"batch size {tc.batch_size} is smaller than the {ctx.world} processes")
    if ctx.main:
        out, previous = _open_run(run, resume)
    else:  # the other ranks read the run folder, never write it
        out, previous = None, _read_previous(run, resume)
    if previous is not None and model_config is None:
        model_config = ImpactConfig.from_dict(previous["model"])
    mc = model_config or ImpactConfig.paper()
    device = resolve_device(tc.device)
    if ctx.world > 1 and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    amp = (device.type == "cuda") if tc.amp is None else bool(tc.amp)
    amp_dtype = torch.bfloat16 if device.type != "cuda" or torch.cuda.is_bf16_supported() else torch.float16
    steps_per_epoch = math.ceil(n / tc.batch_size)
    total = tc.max_steps if tc.max_steps is not None else math.ceil(tc.epochs * steps_per_epoch)
    meta = {
        "model": mc.to_dict(),
        "train": asdict(tc),
        "parameters_per_branch": None,
        "dataset_rows": n,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total,
        "collapse_fraction": COLLAPSE_FRACTION,
        "world_size": ctx.world,
    }
    _barrier(ctx)  # every rank has read the previous run before rank 0 rewrites its files
    if previous is not None and _resume_key(previous) != _resume_key(meta) and not force:
        old, new = _resume_key(previous), _resume_key(meta)
        diff = sorted(k for k in ("model", "dataset_rows") if old[k] != new[k]) + sorted(
            k for k in set(old["train"]) | set(new["train"]) if old["train"].get(k) != new["train"].get(k))
        raise DinosError(f"run folder was trained with a different configuration or data ({', '.join(diff)}); "
                         "use a new folder, or --force to continue these weights anyway", run)

    seed_everything(tc.seed)
    model = Impact(mc).to(device)
    meta["parameters_per_branch"] = count_parameters(model.student)
    opt = torch.optim.AdamW(model.student.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and amp_dtype == torch.float16)
    gen = torch.Generator().manual_seed(tc.seed)
    probe = _decode_batch(dataset, probe_indices(n), mc.frontend).to(device)
    probe_spec = model.frontend(probe)
    step = 0
    if previous is not None:
        state = torch.load(run / CHECKPOINT_FILE, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        gen.set_state(state["mask_rng"].cpu())
        step = int(state["step"])
        initial = previous.get("initial_metrics") or model.diagnostics(probe_spec)
    else:
        initial = model.diagnostics(probe_spec)
    meta["initial_metrics"] = initial
    if ctx.main:
        out.write_text(CONFIG_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        # the log keeps only what the checkpoint covers: a step is never listed twice after a resume
        log_records = read_log(run / LOG_FILE, up_to_step=step)
        if previous is None:
            log_records = [{"step": 0, "epoch": 0, **initial}]
        out.write_text(LOG_FILE, "".join(json.dumps(r) + "\n" for r in log_records))
    step_module: torch.nn.Module = _LossModule(model)
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        step_module = DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=mc.objective != "paper",  # `eat` leaves the decoder out of the loss
        )

    def checkpoint() -> None:
        if not ctx.main:
            return
        state = {
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict(),
            "mask_rng": gen.get_state(),
            "step": torch.tensor(step),
        }
        with atomic_path(out.path_for(CHECKPOINT_FILE)) as tmp:
            torch.save(state, tmp)
        out.record(CHECKPOINT_FILE)
        save_weights(model, out.path_for(WEIGHTS_FILE), step)  # derived copy for embedding
        out.record(WEIGHTS_FILE)

    t0 = time.perf_counter()
    last = float("nan")
    metrics = dict(initial)
    watched = ("recon_std", "embed_std") if mc.objective == "paper" else ("embed_std",)
    warned: set[str] = set()
    collapse: list[str] = []
    bar = tqdm(total=total, initial=step, desc="pretrain", unit="step", disable=not progress or not ctx.main)
    model.student.train()
    try:
        while step < total:
            epoch, pos = divmod(step, steps_per_epoch)
            idx = shard(_batches(n, tc.batch_size, tc.seed, epoch)[pos], ctx)
            wave = _decode_batch(dataset, idx, mc.frontend).to(device, non_blocking=True)
            if ctx.world > 1:  # masks from (seed, step, rank): resumable without per-rank RNG states
                gen.manual_seed(_rank_mask_seed(tc.seed, step, ctx.rank))
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp):
                loss, frame_loss, utter_loss = step_module(wave, gen)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # DDP averages the gradients over the ranks here
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.student.parameters(), tc.grad_clip)
            scaler.step(opt)
            scaler.update()
            model.update_teacher()  # identical on every rank: the students are identical
            step += 1
            losses = torch.stack([loss.detach(), frame_loss.detach(), utter_loss.detach()]).float()
            if ctx.world > 1:
                import torch.distributed as dist

                dist.all_reduce(losses)
                losses /= ctx.world
            last = float(losses[0])
            if not math.isfinite(last):
                raise DinosError(f"loss became {last} at step {step}", run)
            bar.update(1)
            bar.set_postfix(loss=f"{last:.4f}")
            if ctx.main and (step % tc.log_every == 0 or step == total):
                metrics = model.diagnostics(probe_spec)
                rec = {"step": step, "epoch": epoch, "loss": last, "frame_loss": float(losses[1]),
                       "utterance_loss": float(losses[2]), **metrics}
                log_records.append(rec)  # the whole log is rewritten atomically: never half a line
                out.write_text(LOG_FILE, "".join(json.dumps(r) + "\n" for r in log_records))
                for msg in collapse_warnings(metrics, initial, keys=watched):
                    key = msg.split(" ", 1)[0]
                    if key not in warned:
                        warned.add(key)
                        collapse.append(f"step {step}: {msg}")
                        warnings.warn(f"{run}: step {step}: {msg}", RuntimeWarning, stacklevel=2)
            if step % tc.checkpoint_every == 0 or step == total:
                checkpoint()
    finally:
        bar.close()
    if ctx.main and (not (run / CHECKPOINT_FILE).is_file() or not (run / WEIGHTS_FILE).is_file()):
        checkpoint()  # 0 steps requested
    _barrier(ctx)
    final = collapse_warnings(metrics, initial, keys=watched)
    return PretrainResult(run, step, last, time.perf_counter() - t0, count_parameters(model.student),
                          initial, metrics, [f"at the end: {m}" for m in final] or collapse)


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


def pretraining_dataset(sources: Sequence[Source], *, segment: str = "1s", cache_dir: str | None = None,
                        normalize: str | None = None):
    """1-s windows of every source, concatenated under the shared schema, audio decoded (channel 0);
    `normalize` (e.g. `rms+zscore`, `ImpactConfig.normalize`) normalises each recording when decoded.

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
            cache_dir=cache_dir, segment=segment, tail="pad", **({"normalize": normalize} if normalize else {}),
        )
        parts.append(ds)
    ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    return dinos.decode_audio(ds, channel=0)
