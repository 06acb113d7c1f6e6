"""Embedding extraction with caching, for IMPACT and the log-Mel baseline.

A clip longer than 1 s is cut into consecutive 1-s windows (the last one zero-padded when at least
half a window long) and its embedding is the mean of the window embeddings; shorter clips are padded.
Clips at other rates than 48 kHz are resampled (soxr_hq) before the front end.

Cache: `<cache_dir>/<embedder fingerprint>/<dataset key>.npz` holding `clip_id` and `X`; the key
hashes the dataset's clip ids and its Arrow fingerprint, so a rebuilt or different dataset is
re-embedded. Files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from dinos.errors import DinosError
from dinos.schema import decoded_column

from .frontend import FrontendConfig, to_mono_48k, windows_1s
from .impact import Impact


class ImpactEmbedder(torch.nn.Module):
    """Frozen IMPACT as a feature extractor: `(B, samples)` -> `(B, D)`."""

    label = "IMPACT"

    def __init__(self, model: Impact, *, pooling: str = "mean", branch: str = "student", weights_id: str = ""):
        super().__init__()
        self.model = model.eval()
        self.pooling = pooling
        self.branch = branch
        self.weights_id = weights_id
        self.name = "impact"
        model.embed(torch.zeros(1, model.cfg.frontend.clip_samples, device=model.cls_device),
                    pooling=pooling, branch=branch)  # validates pooling/branch early

    @property
    def frontend_config(self) -> FrontendConfig:
        return self.model.cfg.frontend

    @property
    def dim(self) -> int:
        return self.model.embedding_dim(self.pooling)

    @property
    def fingerprint(self) -> str:
        cfg = json.dumps(self.model.cfg.to_dict(), sort_keys=True)
        key = f"impact:{cfg}:{self.weights_id}:{self.pooling}:{self.branch}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.model.embed(wave, pooling=self.pooling, branch=self.branch)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def impact_embedder(run_dir, *, device="cpu", pooling: str = "mean", branch: str = "student") -> ImpactEmbedder:
    """An `ImpactEmbedder` for the weights in a run folder."""
    from .train import WEIGHTS_FILE, load_run

    model = load_run(run_dir, device)
    return ImpactEmbedder(model, pooling=pooling, branch=branch,
                          weights_id=file_sha256(Path(run_dir) / WEIGHTS_FILE)[:16])


def init_model(run_dir, device="cpu") -> Impact:
    """The network of a run folder exactly as `pretrain` initialised it (its configuration, its seed,
    no training step): the control every benchmark of a run reports as `IMPACT (init)`."""
    from .train import CONFIG_FILE, resolve_device, seed_everything

    path = Path(run_dir) / CONFIG_FILE
    try:
        meta = json.loads(path.read_text())
        from .impact import ImpactConfig

        cfg, seed = ImpactConfig.from_dict(meta["model"]), int(meta["train"]["seed"])
    except FileNotFoundError:
        raise DinosError(f"not an IMPACT run folder: {CONFIG_FILE} missing", run_dir) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DinosError(f"unreadable run configuration ({exc})", path) from None
    seed_everything(seed)
    dev = resolve_device(device) if isinstance(device, str) else device
    return Impact(cfg).to(dev).eval()


def init_embedder(run_dir, *, device="cpu", pooling: str = "mean", branch: str = "student") -> ImpactEmbedder:
    """An `ImpactEmbedder` of the run's untrained network (`init_model`)."""
    model = init_model(run_dir, device)
    emb = ImpactEmbedder(model, pooling=pooling, branch=branch, weights_id=f"init-seed{torch.initial_seed()}")
    emb.name = "impact_init"
    return emb


def _frontend_cfg(embedder) -> FrontendConfig:
    cfg = getattr(embedder, "frontend_config", None)
    if cfg is None:
        cfg = embedder.frontend.config
    return cfg


def _device(embedder) -> torch.device:
    for t in list(embedder.parameters()) + list(embedder.buffers()):
        return t.device
    return torch.device("cpu")


@torch.no_grad()
def embed_dataset(ds, embedder, *, batch_size: int = 32, progress: bool = True) -> tuple[list[str], np.ndarray]:
    """(clip ids, `(rows, D)` float32 embeddings) of a dataset whose `audio` column is decoded."""
    from tqdm.auto import tqdm

    cfg = _frontend_cfg(embedder)
    dev = _device(embedder)
    n = len(ds)
    ids: list[str] = []
    out = np.zeros((n, embedder.dim), dtype=np.float32)
    pending: list[np.ndarray] = []
    owner: list[int] = []

    def flush() -> None:
        if not pending:
            return
        feats = embedder(torch.from_numpy(np.stack(pending)).to(dev)).float().cpu().numpy()
        for row, f in zip(owner, feats, strict=True):
            out[row] += f
        pending.clear()
        owner.clear()

    counts = np.zeros(n, dtype=np.int64)
    with tqdm(total=n, desc=f"embed ({embedder.name})", unit="clip", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            rows = ds[start : start + batch_size]
            for j, (cid, audio) in enumerate(zip(rows["clip_id"], rows["audio"], strict=True)):
                arr = to_mono_48k(audio["array"], audio["sampling_rate"], target_rate=cfg.sample_rate,
                                  path=audio.get("path"))
                wins = windows_1s(arr, cfg.clip_samples)
                ids.append(cid)
                counts[start + j] = len(wins)
                for w in wins:
                    pending.append(w)
                    owner.append(start + j)
                    if len(pending) >= batch_size:
                        flush()
            bar.update(len(rows["clip_id"]))
        flush()
    out /= counts[:, None]
    if len(set(ids)) != len(ids):
        raise DinosError("dataset has duplicate clip ids; cannot key embeddings by clip")
    return ids, out


def _dataset_key(ds) -> str:
    plain = ds.with_format(None)
    h = hashlib.sha256()
    h.update(str(getattr(ds, "_fingerprint", "")).encode())
    for cid in plain["clip_id"]:
        h.update(cid.encode())
        h.update(b"\n")
    return h.hexdigest()[:20]


def cached_embeddings(
    ds, embedder, cache_dir: str | os.PathLike | None, *, batch_size: int = 32, progress: bool = True
) -> tuple[list[str], np.ndarray]:
    """`embed_dataset` with an on-disk cache keyed by embedder and dataset (no cache when None)."""
    if cache_dir is None:
        return embed_dataset(ds, embedder, batch_size=batch_size, progress=progress)
    folder = Path(cache_dir) / f"{embedder.name}-{embedder.fingerprint}"
    path = folder / f"{_dataset_key(ds)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return [str(c) for c in z["clip_id"]], z["X"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise DinosError(f"corrupt embedding cache file ({exc}); delete it to recompute", path) from None
    ids, X = embed_dataset(ds, embedder, batch_size=batch_size, progress=progress)
    from ..io import write_with

    write_with(path, lambda tmp: np.savez(tmp, clip_id=np.array(ids, dtype=str), X=X))
    return ids, X


def load_corpus(corpus: str, config: str, data_dir, *, splits: list[str] | None = None, cache_dir=None,
                **builder_kwargs):
    """All rows (or the named splits) of a corpus config, concatenated, audio decoded (channel 0).

    The returned dataset has an extra `split` column naming the split each row came from.
    """
    import datasets

    import dinos

    dd = dinos.load_dataset(corpus, config, data_dir=data_dir, decode=False, cache_dir=cache_dir, **builder_kwargs)
    names = list(dd) if splits is None else splits
    missing = [s for s in names if s not in dd]
    if missing:
        raise DinosError(f"{corpus}/{config} has no split(s) {missing} (has {sorted(dd)})", data_dir)
    parts = [dd[s].add_column("split", [s] * len(dd[s])) for s in names if len(dd[s])]
    if not parts:
        raise DinosError(f"{corpus}/{config} has no rows", data_dir)
    ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    return dinos.decode_audio(ds, channel=0)


METADATA_COLUMNS = ("corpus", "machine", "sensor", "section", "domain", "label", "task_class", "class_name",
                    "recording_id", "split")


def metadata_frame(ds):
    """The non-audio columns as a pandas DataFrame, ClassLabel ints turned into their names."""
    import datasets

    plain = ds.with_format(None)
    cols = [c for c in ("clip_id", *METADATA_COLUMNS) if c in plain.column_names]
    frame = plain.select_columns(cols).to_pandas()
    for c in cols:
        if isinstance(plain.features[c], datasets.ClassLabel):
            frame[c] = decoded_column(plain, c)
    return frame


def write_embeddings(out_dir, name: str, ids: list[str], X: np.ndarray, meta, info: dict) -> Path:
    """`<out>/<name>.npz` (clip_id, X) + `<name>.csv` (metadata, row-aligned) + `<name>.json` (info)."""
    from .train import write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..io import write_with

    npz = write_with(out / f"{name}.npz", lambda tmp: np.savez(tmp, clip_id=np.array(ids, dtype=str), X=X))
    write_with(out / f"{name}.csv", lambda tmp: meta.to_csv(tmp, index=False))
    write_json(out / f"{name}.json", {**info, "rows": len(ids), "dim": int(X.shape[1])})
    return npz
