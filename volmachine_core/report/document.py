"""The desk report as a document: sections of text, tables and pictures, rendered to Markdown and to one
self-contained HTML file (images inline as data URIs, styles inline, no script and no network reference).

Pure: builds strings from frames and PNG bytes; writing the files is the pipeline's job.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Section", "BOOK_RULES", "trading_status", "render_markdown", "render_html"]

#: Rules about the whole book: when one fails, nothing new can be traded that day.
BOOK_RULES = ("drawdown_kill_switch", "daily_loss_limit", "weekly_loss_limit")


@dataclass
class Section:
    """A titled part of the report: blocks in order, each a paragraph (str), a table (DataFrame) or a picture
    (``(png_bytes, caption)``)."""

    title: str
    blocks: list = field(default_factory=list)


def trading_status(sized: pd.DataFrame, underlyings) -> tuple[str, list[str]]:
    """``("TRADING ALLOWED" | "TRADING BLOCKED", reasons)`` for one day's ``sized_candidates`` rows.

    Blocked when a book-level rule (:data:`BOOK_RULES`) failed, or when every underlying of the universe is
    blocked by a failed data-quality check; the reasons quote the rules' details. A day without candidates is
    allowed (nothing stops trading; nothing was worth it).
    """
    reasons: list[str] = []
    if len(sized):
        rules = json.loads(sized["rules"].iloc[0]) if isinstance(sized["rules"].iloc[0], str) else \
            sized["rules"].iloc[0]
        reasons = [f"{r['rule']}: {r['detail']}" for r in rules if r["rule"] in BOOK_RULES and not r["passed"]]
        dq = sized[sized["verdict_reasons"].astype(str).str.contains("data_quality")]
        blocked_unds = set(dq["underlying"])
        if set(underlyings) and set(underlyings) <= blocked_unds:
            reasons.append("data_quality: every underlying failed a blocking check (" + ", ".join(sorted(blocked_unds))
                           + ")")
    return ("TRADING BLOCKED" if reasons else "TRADING ALLOWED"), reasons


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    return df.to_markdown(index=False, floatfmt=",.4g")


def render_markdown(title: str, status: tuple[str, list[str]], sections: list[Section]) -> str:
    """Markdown with the status line first; pictures inline as base64 data URIs (one self-contained file)."""
    head, reasons = status
    out = [f"# {title}", "", f"**{head}**" + (": " + "; ".join(reasons) if reasons else ""), ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, pd.DataFrame):
                out += [_md_table(b), ""]
            elif isinstance(b, tuple):
                png, caption = b
                out += [f"![{caption}](data:image/png;base64,{base64.b64encode(png).decode()})", ""]
            else:
                out += [str(b), ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1em}th,td{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.status{font-size:1.4em;font-weight:bold;padding:0.4em 0.8em;display:inline-block;border-radius:4px}
.allowed{background:#dff3e0;color:#165c1d}.blocked{background:#fbdcdc;color:#8a1414}
figure{margin:0.5em 0 1.5em}figcaption{font-size:12px;color:#555}img{max-width:100%}"""


def render_html(title: str, status: tuple[str, list[str]], sections: list[Section]) -> str:
    """One HTML file: inline CSS, tables, pictures as ``data:image/png;base64`` URIs; every text escaped."""
    head, reasons = status
    cls = "blocked" if head == "TRADING BLOCKED" else "allowed"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f"<p><span class=\"status {cls}\">{html.escape(head)}</span></p>"]
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in reasons) + "</ul>")
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, pd.DataFrame):
                parts.append("<p><em>none</em></p>" if b.empty else
                             b.to_html(index=False, escape=True, border=0, float_format=lambda v: f"{v:,.4g}"))
            elif isinstance(b, tuple):
                png, caption = b
                parts.append(f"<figure><img alt=\"{html.escape(caption)}\" src=\"data:image/png;base64,"
                             f"{base64.b64encode(png).decode()}\"><figcaption>{html.escape(caption)}</figcaption>"
                             "</figure>")
            else:
                parts.append(f"<p>{html.escape(str(b))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
