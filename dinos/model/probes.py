"""Probes on frozen embeddings: the classification probe (AP/mAP) and the autoencoder ASD head.

Heads (paper Table 5 and its text disagree; both are selectable, see docs/benchmark.md):

- probe `linear` (default): one `nn.Linear` D -> classes, L-BFGS -- the text's "single FC" and SPEC's
  linear probe; `mlp`: Table 5's "Linear (FC) + ReLU 384 -> 256, Linear (FC) 256 -> #classes" (the
  ReLU after the last layer that the table also lists is left out: it would clip the logits).
- ASD head `linear-out` (default): D -> 256 -> 128 -> D with ReLU on the hidden layers; `table5`: ReLU
  after all three layers, as Table 5 lists. On standardised (signed) features a ReLU output cannot
  produce negative values, so half of every clip's error is a constant of its input, not of the head.

All standardise features with the training side's mean and standard deviation, train full-batch on
the CPU or the given device, and are deterministic for a seed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dinos.errors import SplitError


@contextmanager
def single_thread():
    """Small full-batch problems run faster (and reproducibly) on one thread, above all on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every matrix with the train matrix' column mean and std (std floored at 1e-6)."""
    mu = train.mean(0, keepdims=True)
    sd = np.maximum(train.std(0, keepdims=True), 1e-6)
    return [((m - mu) / sd).astype(np.float32) for m in (train, *others)]


@dataclass
class ClassificationResult:
    classes: list[str]
    ap: dict[str, float]  # per class average precision on the evaluation side
    accuracy: float

    @property
    def map(self) -> float:
        return float(np.mean(list(self.ap.values())))


PROBES = ("linear", "mlp")
ASD_HEADS = ("linear-out", "table5")
MLP_HIDDEN = 256


def linear_probe(
    x_train: np.ndarray,
    y_train: list[str] | np.ndarray,
    x_eval: np.ndarray,
    y_eval: list[str] | np.ndarray,
    *,
    l2: float = 1e-3,
    max_iter: int = 100,
    seed: int = 0,
    probe: str = "linear",
) -> ClassificationResult:
    """A probe (softmax cross-entropy + `l2` * ||W||^2 over the weight matrices, L-BFGS) on
    standardised features: `linear` = one `nn.Linear` (zero init); `mlp` = Linear D->256, ReLU,
    Linear 256->classes (initialised from `seed`).

    Returns per-class average precision (one vs rest, sklearn) on the evaluation side and its mean.
    Every class must appear on both sides (`SplitError` otherwise).
    """
    if probe not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {probe!r}")
    from sklearn.metrics import average_precision_score

    y_train, y_eval = np.asarray(y_train), np.asarray(y_eval)
    classes = sorted(set(y_train.tolist()) | set(y_eval.tolist()), key=_natural)
    if len(classes) < 2:
        raise SplitError(f"a classification probe needs at least two classes, got {classes}")
    for c in classes:
        if not (y_train == c).any() or not (y_eval == c).any():
            raise SplitError(f"class {c!r} is missing from the {'train' if not (y_train == c).any() else 'eval'} side")
    index = {c: i for i, c in enumerate(classes)}
    xt, xe = standardize(x_train, x_eval)
    torch.manual_seed(seed)
    if probe == "linear":
        lin: nn.Module = nn.Linear(xt.shape[1], len(classes))
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
    else:
        lin = nn.Sequential(nn.Linear(xt.shape[1], MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, len(classes)))
    X = torch.from_numpy(xt).double()
    lin = lin.double()
    weights = [m.weight for m in lin.modules() if isinstance(m, nn.Linear)]
    y = torch.tensor([index[c] for c in y_train.tolist()])
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-12)

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(lin(X), y) + l2 * sum(w.square().sum() for w in weights)
        loss.backward()
        return loss

    with single_thread():
        opt.step(closure)
    with torch.no_grad():
        prob = torch.softmax(lin(torch.from_numpy(xe).double()), dim=1).numpy()
    ap = {c: float(average_precision_score(y_eval == c, prob[:, index[c]])) for c in classes}
    acc = float((prob.argmax(1) == np.array([index[c] for c in y_eval.tolist()])).mean())
    return ClassificationResult(classes, ap, acc)


def _natural(name: str):
    """T2 < T10: sort task ids by number when they look like T<n>."""
    if len(name) > 1 and name[0] == "T" and name[1:].isdigit():
        return (0, int(name[1:]), name)
    return (1, 0, name)


class AutoencoderHead(nn.Module):
    """D -> 256 -> 128 -> D, ReLU on the hidden layers; `output_relu` adds Table 5's ReLU on the output."""

    def __init__(self, dim: int, hidden: tuple[int, int] = (256, 128), output_relu: bool = False):
        super().__init__()
        layers = [nn.Linear(dim, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
                  nn.Linear(hidden[1], dim)]
        if output_relu:
            layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def autoencoder_scores(
    x_normal_train: np.ndarray,
    x_eval: np.ndarray,
    *,
    epochs: int = 300,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    hidden: tuple[int, int] = (256, 128),
    seed: int = 0,
    head: str = "linear-out",
) -> np.ndarray:
    """Anomaly scores (mean squared reconstruction error) of `x_eval` from an autoencoder trained
    full-batch with Adam on the normal training embeddings (standardised with their statistics).
    `head`: `linear-out` or `table5` (module docstring)."""
    if head not in ASD_HEADS:
        raise ValueError(f"ASD head must be one of {ASD_HEADS}, got {head!r}")
    if len(x_normal_train) < 2:
        raise SplitError(f"the ASD head needs at least 2 normal training clips, got {len(x_normal_train)}")
    xt, xe = standardize(x_normal_train, x_eval)
    torch.manual_seed(seed)
    net = AutoencoderHead(xt.shape[1], hidden, output_relu=head == "table5")
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    X = torch.from_numpy(xt)
    with single_thread():
        for _ in range(epochs):
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(X), X)
            loss.backward()
            opt.step()
    with torch.no_grad():
        E = torch.from_numpy(xe)
        return (net(E) - E).square().mean(1).numpy().astype(np.float64)


def asd_auroc(
    x_train: np.ndarray,
    y_train: list[str] | np.ndarray,
    x_eval: np.ndarray,
    y_eval: list[str] | np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 300,
    head: str = "linear-out",
    scores_out: list | None = None,
) -> float:
    """AUROC (anomaly = positive) of the autoencoder head trained on the `normal` training clips only.
    `scores_out`: a list that receives the evaluation clips' anomaly scores (for figures)."""
    from sklearn.metrics import roc_auc_score

    y_train, y_eval = np.asarray(y_train), np.asarray(y_eval)
    bad = sorted((set(y_train.tolist()) | set(y_eval.tolist())) - {"normal", "anomaly"})
    if bad:
        raise SplitError(f"ASD labels must be normal/anomaly, got {bad}")
    positives = y_eval == "anomaly"
    if positives.all() or not positives.any():
        raise SplitError("the ASD evaluation side needs both normal and anomalous clips")
    scores = autoencoder_scores(x_train[y_train == "normal"], x_eval, seed=seed, epochs=epochs, head=head)
    if scores_out is not None:
        scores_out.append(scores)
    return float(roc_auc_score(positives, scores))
