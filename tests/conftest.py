"""Shared fixtures: the ``../shared`` test data and seeded randomness."""

import os
from pathlib import Path

import numpy as np
import pytest

# ../shared sits beside the checkout (tests/ -> repo root -> parent).
SHARED_DIR = Path(
    os.environ.get("SK_AVSC_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)


def _shared_path(*parts):
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"shared test data not found at {path}; it sits beside the checkout as ../shared "
            "(or set SK_AVSC_SHARED_DIR)"
        )
    return path


@pytest.fixture(scope="session")
def shared_dir():
    """Root of the shared test data; skips the test when it is absent."""
    return _shared_path()


@pytest.fixture(scope="session")
def openl3_reference_dir():
    """``../shared/openl3-reference``: random-weight models and openl3 0.4.2's outputs."""
    return _shared_path("openl3-reference")


@pytest.fixture(scope="session")
def media_dir():
    """``../shared/media``: small real WAV/MP4/PNG/JPEG files."""
    return _shared_path("media")


@pytest.fixture(scope="session")
def tau2021_dir():
    """``../shared/tau2021``: TAU 2021 metadata and the authors' released heads."""
    return _shared_path("tau2021")


@pytest.fixture
def rng():
    """A seeded numpy Generator, fresh for each test."""
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a module: tiny networks only pay synchronisation for
    more (about 10x slower on a busy 2-core CI machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
