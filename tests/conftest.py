"""Shared fixtures: a temporary VOLMACHINE_HOME per test, paths to the real recorded chains."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty VOLMACHINE_HOME (and DAGSTER_HOME inside it) for one test."""
    h = tmp_path / "vmhome"
    h.mkdir()
    monkeypatch.setenv("VOLMACHINE_HOME", str(h))
    (h / "dagster").mkdir()
    (h / "dagster" / "dagster.yaml").touch()
    monkeypatch.setenv("DAGSTER_HOME", str(h / "dagster"))
    return h


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real chains not found at {SHARED_DATA}")
    return SHARED_DATA


os.environ.setdefault("NUMBA_NUM_THREADS", "2")
