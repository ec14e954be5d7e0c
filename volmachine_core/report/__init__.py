"""Rendering for people: plots (PNG bytes) for asset metadata and the daily report. No file I/O."""

from volmachine_core.report.plots import png_markdown, smile_grid, term_structure

__all__ = ["png_markdown", "smile_grid", "term_structure"]
