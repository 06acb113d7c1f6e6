"""Benchmark any embedding model: a plain callable, or a HEAR-API module.

Interface (docs/benchmark.md, "Your own model")::

    def embed(batch: numpy.ndarray, sample_rate: int) -> numpy.ndarray | torch.Tensor:
        # batch: float32 (B, samples), mono, 1 s at `sample_rate` each; returns (B, dim)

    embed.sample_rate = 16000   # optional: the rate the model wants (default 48000); clips are resampled

`dinos benchmark --embedder my_pkg.my_mod:embed` imports it. A HEAR module (`load_model`,
`get_scene_embeddings`, the model's `sample_rate`; https://hearbenchmark.com/hear-api.html) is named
`hear:my_hear_module` (optionally `hear:module@/path/to/weights`). Either becomes an embedder with
the interface the benchmark uses (`name`, `dim`, `fingerprint`, `frontend_config`, called on a
`(B, samples)` tensor): clips longer than 1 s are cut into 1-s windows and their embeddings averaged,
as for IMPACT.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable

import numpy as np
import torch

from dinos.errors import DinosError

from .frontend import FrontendConfig

DEFAULT_RATE = 48_000


def _source_hash(obj) -> str:
    try:
        text = inspect.getsource(inspect.getmodule(obj) or obj)
    except (OSError, TypeError):
        text = repr(obj)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CallableEmbedder(torch.nn.Module):
    """Wrap `fn(batch float32 (B, samples), sample_rate) -> (B, dim)` as a benchmark embedder."""

    def __init__(self, fn: Callable, name: str, *, sample_rate: int | None = None, key: str = ""):
        super().__init__()
        self.fn = fn
        self.label = name
        self.name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)  # result key and cache folder
        rate = int(sample_rate or getattr(fn, "sample_rate", DEFAULT_RATE))
        if rate <= 0:
            raise DinosError(f"embedder {name}: sample rate must be positive, got {rate}")
        self.frontend_config = FrontendConfig(sample_rate=rate, clip_samples=rate)
        self._key = key or _source_hash(fn)
        self._dim: int | None = None

    @property
    def fingerprint(self) -> str:
        rate = self.frontend_config.sample_rate
        return hashlib.sha256(f"external:{self.name}:{rate}:{self._key}".encode()).hexdigest()[:16]

    @property
    def dim(self) -> int:
        if self._dim is None:  # one probe call on silence tells the width
            self._dim = int(self(torch.zeros(1, self.frontend_config.clip_samples)).shape[1])
        return self._dim

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        batch = wave.detach().cpu().float().numpy()
        out = self.fn(batch, self.frontend_config.sample_rate)
        arr = out.detach().cpu().float() if isinstance(out, torch.Tensor) else torch.as_tensor(np.asarray(out, dtype=np.float32))
        if arr.ndim != 2 or arr.shape[0] != batch.shape[0]:
            raise DinosError(f"embedder {self.name} returned shape {tuple(arr.shape)} for a batch of "
                             f"{batch.shape[0]}; expected (batch, dim)")
        if not torch.isfinite(arr).all():
            raise DinosError(f"embedder {self.name} returned NaN or infinite values")
        return arr


def hear_embedder(module_name: str, model_file: str = "") -> CallableEmbedder:
    """A HEAR-API module (`load_model(model_file_path)`, `get_scene_embeddings(audio, model)`)."""
    mod = _import(module_name)
    for attr in ("load_model", "get_scene_embeddings"):
        if not callable(getattr(mod, attr, None)):
            raise DinosError(f"{module_name} is not a HEAR module: no function {attr}()")
    model = mod.load_model(model_file) if model_file else mod.load_model()
    rate = getattr(model, "sample_rate", None)
    if not rate:
        raise DinosError(f"HEAR model of {module_name} has no sample_rate attribute")

    def embed(batch: np.ndarray, sample_rate: int):
        with torch.no_grad():
            return mod.get_scene_embeddings(torch.from_numpy(batch), model)

    return CallableEmbedder(embed, f"hear:{module_name}", sample_rate=int(rate),
                            key=_source_hash(mod.get_scene_embeddings) + model_file)


def _import(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise DinosError(f"cannot import embedder module {module_name!r} ({exc})") from None


def load_embedder(spec: str) -> CallableEmbedder:
    """`module:function` (a callable embedder) or `hear:module[@model_file]` (a HEAR module)."""
    if spec.startswith("hear:"):
        name, _, weights = spec[5:].partition("@")
        if not name:
            raise DinosError(f"embedder {spec!r}: expected hear:<module>[@<model file>]")
        return hear_embedder(name, weights)
    module_name, sep, func = spec.partition(":")
    if not sep or not module_name or not func:
        raise DinosError(f"embedder {spec!r}: expected module:function or hear:module")
    fn = getattr(_import(module_name), func, None)
    if not callable(fn):
        raise DinosError(f"embedder {spec!r}: {module_name} has no callable {func!r}")
    return CallableEmbedder(fn, func)
