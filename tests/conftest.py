"""Shared pytest setup: one CPU thread for torch, so timings and results do not depend on the
machine's core count (and parallel test workers do not oversubscribe the CPU)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """torch.set_num_threads(1) once per session."""
    torch.set_num_threads(1)
    yield
