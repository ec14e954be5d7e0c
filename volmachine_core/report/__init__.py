"""Rendering for people: plots (PNG bytes) for asset metadata and the daily report, and the report document
(Markdown and self-contained HTML strings). No file I/O."""

from volmachine_core.report.desk_report import desk_report, failed_rules, legs_summary
from volmachine_core.report.document import BOOK_RULES, Section, render_html, render_markdown, trading_status
from volmachine_core.report.plots import gex_by_strike, iv_rv_history, png_markdown, smile_grid, term_structure
from volmachine_core.report.risk_plots import equity_drawdown, residual_heatmap, stress_heatmap

__all__ = ["BOOK_RULES", "Section", "desk_report", "equity_drawdown", "failed_rules", "gex_by_strike",
           "iv_rv_history", "legs_summary", "png_markdown", "render_html", "render_markdown", "residual_heatmap",
           "smile_grid", "stress_heatmap", "term_structure", "trading_status"]
