"""Configuration is validated on load; errors name the file and the key."""

from __future__ import annotations

import shutil

import pytest

from volmachine_pipeline.config import REPO_ROOT, ConfigError, load_settings, load_universe


def test_shipped_config_loads():
    s = load_settings()
    u = load_universe()
    assert s.data.source == "sim" and len(u.symbols) >= 5
    assert u.target_sds == [x / 2 for x in range(-6, 7)]


@pytest.mark.parametrize("text, key", [
    ("risk:\n  max_loss_per_trade: -1\n", "risk.max_loss_per_trade"),
    ("risk:\n  max_loss_per_tradee: 0.01\n", "risk.max_loss_per_tradee"),
    ("data:\n  source: bloomberg\n", "data.source"),
    ("sim:\n  origin: not-a-date\n", "sim.origin"),
])
def test_bad_settings_name_file_and_key(tmp_path, text, key):
    p = tmp_path / "settings.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_settings(p)
    assert str(p) in str(exc.value) and key in str(exc.value)


@pytest.mark.parametrize("text, key", [
    ("underlyings: []\ntarget_sds: [0]\n", "underlyings"),
    ("underlyings:\n  - {symbol: SPX, root: SPXW, kind: index}\n  - {symbol: SPX, root: SPX, kind: index}\n"
     "target_sds: [0]\n", "duplicate symbols"),
    ("underlyings:\n  - {symbol: SPX, root: SPXW, kind: future}\ntarget_sds: [0]\n", "underlyings.0.kind"),
    ("underlyings:\n  - {symbol: SPX, root: SPXW, kind: index}\ntarget_sds: [0]\ndte_min: 30\ndte_max: 7\n",
     "dte_min"),
])
def test_bad_universe_names_file_and_key(tmp_path, text, key):
    p = tmp_path / "universe.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_universe(p)
    assert str(p) in str(exc.value) and key in str(exc.value)


def test_unreadable_yaml_and_missing_file(tmp_path):
    p = tmp_path / "settings.yaml"
    p.write_text("risk: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(p)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_config_folder_override(tmp_path, monkeypatch):
    shutil.copytree(REPO_ROOT / "config", tmp_path / "cfg")
    (tmp_path / "cfg" / "settings.yaml").write_text("sim:\n  seed: 11\n")
    monkeypatch.setenv("VOLMACHINE_CONFIG", str(tmp_path / "cfg"))
    from volmachine_pipeline.config import current_config

    assert current_config()[0].sim.seed == 11
