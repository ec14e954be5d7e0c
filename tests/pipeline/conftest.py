"""A short demo on a temporary VOLMACHINE_HOME, shared by the wing and signal asset tests."""

from __future__ import annotations

import shutil

import pytest
import yaml

from volmachine_pipeline.cli import main
from volmachine_pipeline.config import REPO_ROOT

END, DAYS = "2025-03-14", 14


@pytest.fixture(scope="session")
def analytics_home(tmp_path_factory):
    """A demo of 14 sessions x SPX with short warm-ups: wing models from the 6th session on, history-based
    signals from the 6th (``signals.min_history: 5``)."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("analytics") / "vmhome"
    cfg = home.parent / "config"
    shutil.copytree(REPO_ROOT / "config", cfg)
    settings = yaml.safe_load((cfg / "settings.yaml").read_text())
    settings["models"].update(wing_min_days=5, wing_min_obs=30, wing_oos_days=5)
    settings["signals"].update(min_history=5)
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings))
    mp.setenv("VOLMACHINE_HOME", str(home))
    mp.setenv("VOLMACHINE_CONFIG", str(cfg))
    assert main(["demo", "--days", str(DAYS), "--end", END, "--underlyings", "SPX"]) == 0
    yield home
    mp.undo()
