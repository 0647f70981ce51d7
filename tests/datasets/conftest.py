"""Fixtures for the dataset tests: the shared real N-MNIST sample folder."""

from __future__ import annotations

from pathlib import Path

import pytest

NMNIST_SMALL = Path(__file__).resolve().parents[2].parent / "shared/data/nmnist-small"


@pytest.fixture(scope="session")
def nmnist_small() -> Path:
    """Path of ../shared/data/nmnist-small (1000 real N-MNIST training files), or skip."""
    if not (NMNIST_SMALL / "Train").is_dir():
        pytest.skip(
            f"../shared/data/nmnist-small not found: expected real N-MNIST files at "
            f"{NMNIST_SMALL}/Train/<label>/*.bin"
        )
    return NMNIST_SMALL
