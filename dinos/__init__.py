"""dinos: loaders, splits, cards and a reference model for industrial machine sound corpora.

`import dinos` never imports torch; the model package is `dinos.model` (extra `dinos-audio[model]`).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import build_report, corpora, decode_audio, load_dataset  # noqa: E402
from .errors import AudioError, DinosError, LayoutError, ParseError, SplitError, UnsafePathError  # noqa: E402

__all__ = [
    "AudioError",
    "DinosError",
    "LayoutError",
    "ParseError",
    "SplitError",
    "UnsafePathError",
    "__version__",
    "build_report",
    "corpora",
    "decode",
    "decode_audio",
    "load_dataset",
    "stored",
]


def __getattr__(name):  # lazy submodules: dinos.splits, dinos.metrics, dinos.tasks, ...
    import importlib

    if name in {"splits", "metrics", "tasks", "segment", "schema", "audio", "cards", "export", "synth"}:
        return importlib.import_module(f".{name}", __name__)
    if name in {"decode", "DinosDataset", "stored"}:  # imports `datasets`: only on first use
        return getattr(importlib.import_module(".formatting", __name__), name)
    if name in {"to_lhotse", "write_audiofolder"}:
        return getattr(importlib.import_module(".interop", __name__), name)
    raise AttributeError(name)
