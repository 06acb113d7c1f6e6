"""The seeds' own models as baselines (issue 18), in plain torch, at the corpus' native sample rate.

Modules: `features` (frame log-Mel front end), `trainer` (`Clip`, `ClipModel`, `fit`, `score`),
`autoencoder` (`FrameAutoencoder`: MIMII DUE AE and the AWS blog AE), `mobilenet` (MobileNetV2 section
classifier), `mae` (MAE-ViT, error-map CNN, convolutional autoencoder), `reference` (the papers' figures),
`drill` (waveform VAE + log-Mel image CNN of the drill study), `registry` (names, presets),
`asd` (`run_asd_benchmark`: the DCASE / MIMII DUE protocol), `dinos_asd` (the anomaly detectors on the
DINOS tasks T26 / T27), `study` (`run_drill_study`: the drill study's supervised protocol on a split
file). See docs/baselines.md.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "LogMelSpec": "features", "FrameLogMel": "features",
    "Clip": "trainer", "ClipModel": "trainer", "FitConfig": "trainer", "fit": "trainer", "score": "trainer",
    "parameter_count": "trainer",
    "AEConfig": "autoencoder", "FrameAutoencoder": "autoencoder", "AE_PRESETS": "autoencoder",
    "MODELS": "registry", "build_model": "registry", "load_clips": "asd", "run_asd_benchmark": "asd",
    "AsdReport": "asd",
    "SectionClassifier": "mobilenet", "MobileNetV2": "mobilenet",
    "MaeViT": "mae", "MaeAnomaly": "mae", "ErrorMapClassifier": "mae", "CaeAnomaly": "mae",
    "WaveVAE": "drill", "synthesize": "drill", "MelImageClassifier": "drill",
    "add_dinos_rows": "dinos_asd", "run_drill_study": "study",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(name)
