"""Fixtures shared by the model tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """The shared 2-core machine: one intra-op thread is many times faster than two fighting."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
