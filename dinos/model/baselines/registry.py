"""The baselines by name (torch-free, so the CLI can list them): name -> label, presets, builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dinos.errors import DinosError

if TYPE_CHECKING:
    from .trainer import ClipModel


# ------------------------------------------------------------------------------------------------
# Model registry: name -> (preset -> model)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    build: Callable[[str], ClipModel]
    presets: tuple[str, ...]
    needs_sections: bool = False  # a section classifier: needs >= 2 training sections per machine type


def _ae(preset_name: str) -> Callable[[str], ClipModel]:
    def build(preset: str) -> ClipModel:
        from .autoencoder import FrameAutoencoder

        # the AEs are CPU-sized already: "cpu" is the paper's network
        return FrameAutoencoder("tiny" if preset == "tiny" else preset_name)

    return build


def _mobilenet(preset: str) -> ClipModel:
    from .mobilenet import SectionClassifier

    return SectionClassifier(preset)


def _mae(preset: str) -> ClipModel:
    from .mae import MaeAnomaly

    return MaeAnomaly(preset)


def _cae(preset: str) -> ClipModel:
    from .mae import CaeAnomaly

    return CaeAnomaly(preset)


MODELS: dict[str, ModelSpec] = {
    "mimii_due_ae": ModelSpec("mimii_due_ae", "MIMII DUE AE", _ae("mimii_due_ae"), ("paper", "cpu", "tiny")),
    "blog_ae": ModelSpec("blog_ae", "AWS blog AE", _ae("blog_ae"), ("paper", "cpu", "tiny")),
    "mobilenetv2": ModelSpec("mobilenetv2", "MobileNetV2 (section classifier)", _mobilenet,
                             ("paper", "cpu", "tiny"), needs_sections=True),
    "mae_vit": ModelSpec("mae_vit", "MAE-ViT (summed error map)", _mae, ("paper", "cpu", "tiny")),
    "cae": ModelSpec("cae", "Conv. autoencoder (reconstruction error)", _cae, ("paper", "cpu", "tiny")),
}


def build_model(name: str, preset: str = "paper", seed: int = 0) -> ClipModel:
    """A freshly initialised model (weights drawn from `seed`, the global RNG left untouched)."""
    import torch

    spec = MODELS.get(name)
    if spec is None:
        raise DinosError(f"unknown baseline {name!r}; known: {', '.join(MODELS)}")
    if preset not in spec.presets:
        raise DinosError(f"baseline {name} has no preset {preset!r}; presets: {', '.join(spec.presets)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.build(preset)
