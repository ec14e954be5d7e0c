"""Rendering for people: plots (PNG bytes) for asset metadata and the daily report. No file I/O."""

from volmachine_core.report.plots import gex_by_strike, iv_rv_history, png_markdown, smile_grid, term_structure

__all__ = ["gex_by_strike", "iv_rv_history", "png_markdown", "smile_grid", "term_structure"]
