"""Smile and term-structure plots render to PNG bytes that embed in Markdown metadata."""

from __future__ import annotations

import base64

from volmachine_core.market.synthetic import ssvi_snapshot
from volmachine_core.report import png_markdown, smile_grid, term_structure
from volmachine_core.surface import build_surface

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_render_png_and_markdown():
    sb = build_surface(ssvi_snapshot(seed=4, n_expiries=8, strikes_per_expiry=60).quotes)
    smile = smile_grid(sb.strike_vols, sb.curve_params, "SPX smiles")
    ts = term_structure(sb.curve_params, "SPX term structure")
    assert smile.startswith(PNG_MAGIC) and ts.startswith(PNG_MAGIC)
    md = png_markdown(smile, "smiles")
    assert md.startswith("![smiles](data:image/png;base64,")
    assert base64.b64decode(md.split(",", 1)[1].rstrip(")")) == smile


def test_signal_plots_render_png():
    import numpy as np
    import pandas as pd

    from volmachine_core.report import gex_by_strike, iv_rv_history

    d = pd.bdate_range("2025-01-01", periods=30)
    hist = pd.DataFrame({"trade_date": d, "iv_30d": 0.2 + 0.01 * np.sin(np.arange(30)), "rv": 0.15})
    assert iv_rv_history(hist, "IV vs RV").startswith(PNG_MAGIC)
    k = np.arange(90.0, 111.0)
    gex = pd.DataFrame({"strike": k, "call_gex": np.where(k > 100, 1e6, 0.0), "put_gex": np.where(k < 100, -2e6, 0.0)})
    gex["net_gex"] = gex["call_gex"] + gex["put_gex"]
    png = gex_by_strike(gex, 100.0, "GEX", flip_band=(98.0, 102.0), flip=100.5, max_sd_range=0.08)
    assert png.startswith(PNG_MAGIC)
