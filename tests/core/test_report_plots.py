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
