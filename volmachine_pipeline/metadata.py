"""Asset metadata helpers shared by the asset modules."""

import dagster as dg
import pandas as pd


def md_table(frame: pd.DataFrame, floatfmt: str = ".4g") -> dg.MetadataValue:
    """A frame as a Markdown table for the UI (``(none)`` when empty)."""
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=floatfmt) if len(frame) else "(none)")
