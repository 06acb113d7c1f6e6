"""IMPACT model package (torch; `pip install "dinos-audio[model]"`). Imported only on demand: `import dinos`
never imports it.

Modules: `frontend` (log-Mel), `impact` (model + `ImpactConfig`), `train` (pretraining, checkpoints),
`embed` (embeddings + cache), `probes` (linear probe, autoencoder ASD head), `baseline` (log-Mel
statistics), `benchmark` (the paper's protocol, DCASE official scores, `run_demo`), `report` (result
files), `external` (any embedding model: callables and HEAR modules), `plots`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ImpactConfig": "impact", "Impact": "impact", "parameter_report": "impact",
    "LogMel": "frontend", "FrontendConfig": "frontend",
    "TrainConfig": "train", "pretrain": "train", "load_run": "train", "Source": "train",
    "pretraining_dataset": "train",
    "linear_probe": "probes", "asd_auroc": "probes",
    "LogMelStats": "baseline",
    "run_benchmark": "benchmark", "run_dcase_benchmark": "benchmark", "run_demo": "benchmark",
    "load_embedder": "external", "CallableEmbedder": "external",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(name)
