"""Fixtures of the Python package's tests: the repository, the command line to compare
with, and the devices every family runs on (the CPU device and, where there is one,
a GPU adapter: lavapipe in CI, where a missing adapter fails instead of skipping)."""

import os
import subprocess
from pathlib import Path

import pytest

import rulelab

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli():
    """Runs the command line `cargo test --release` built (in CARGO_TARGET_DIR when set;
    RULELAB_BIN names another)."""
    target = REPO / os.environ.get("CARGO_TARGET_DIR", "target")  # absolute stays absolute
    binary = Path(os.environ.get("RULELAB_BIN", target / "release/rulelab"))
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it with cargo build --release (or set RULELAB_BIN)")

    def run(*args, check=True):
        p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"rulelab {' '.join(map(str, args))} failed: {p.stderr}")
        return p

    return run


def _has_adapter() -> bool:
    return len(rulelab.devices()) > 0


@pytest.fixture(params=["cpu", "gpu"])
def device(request) -> str:
    if request.param == "gpu" and not _has_adapter():
        if os.environ.get("CI") == "true":
            pytest.fail("no GPU adapter in CI (install mesa-vulkan-drivers)")
        pytest.skip("no GPU adapter")
    return request.param
