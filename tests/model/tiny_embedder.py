"""A tiny embedding model used to test `dinos benchmark --embedder` (callable and HEAR-API forms)."""

from __future__ import annotations

import numpy as np
import torch

BANDS = 8


def embed(batch: np.ndarray, sample_rate: int) -> np.ndarray:
    """(B, samples) float32 -> (B, 2 * BANDS): log power and its spread in BANDS equal-width bands."""
    spec = np.abs(np.fft.rfft(batch, axis=1)) ** 2
    bands = np.array_split(spec, BANDS, axis=1)
    logp = np.stack([np.log10(b.mean(1) + 1e-12) for b in bands], axis=1)
    spread = np.stack([np.log10(b.std(1) + 1e-12) for b in bands], axis=1)
    return np.concatenate([logp, spread], axis=1).astype(np.float32)


embed.sample_rate = 16_000


# -- HEAR API ------------------------------------------------------------------------------------
class _Model(torch.nn.Module):
    sample_rate = 16_000
    scene_embedding_size = 2 * BANDS
    timestamp_embedding_size = 2 * BANDS


def load_model(model_file_path: str = "") -> torch.nn.Module:
    return _Model()


def get_scene_embeddings(audio: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    return torch.from_numpy(embed(audio.numpy(), model.sample_rate))


def broken(batch: np.ndarray, sample_rate: int) -> np.ndarray:
    return np.zeros((1, 3))  # wrong batch size
