"""From raw vendor rows to clean quotes plus quarantine: one call for the pipeline.

``clean_quotes`` normalises every source file's rows (`vendor.normalise`: typing, row checks,
duplicates) and ``quarantine_stale`` moves quotes that did not change while the underlying moved
(compared with the same contract in the underlying's previous snapshot) into quarantine. Every raw
row ends in exactly one of ``clean`` / ``quarantine``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from volmachine_core.market.quality import flag_stale, split_quarantine
from volmachine_core.market.schema import (
    CLEAN_QUOTE_COLUMNS,
    QUARANTINE_COLUMNS,
    ReasonCode,
    conform,
    empty_frame,
)
from volmachine_core.market.vendor import NormalisedQuotes, normalise


def clean_quotes(raw: pd.DataFrame, *, options: Mapping[str, object] | None = None) -> NormalisedQuotes:
    """Normalise raw rows of one or more source files.

    Parameters
    ----------
    raw : DataFrame
        Vendor columns as text, ``source_row`` (1-based) and ``source_file``.
    options : mapping, optional
        ``underlying``, ``root``, ``multiplier``, ``source`` passed to `vendor.normalise` (for files
        that lack those columns, e.g. the cut-down Cboe export). ``None`` values are ignored.
    """
    opts = {k: v for k, v in (options or {}).items()
            if k in ("underlying", "root", "multiplier", "source") and v is not None}
    cleans, quars = [], []
    fmt = None
    # files with the same columns (e.g. a day range of one vendor's files) are normalised in one call
    present = raw.notna().groupby(raw["source_file"], sort=True).any()
    layout = present.apply(lambda r: tuple(present.columns[r.to_numpy()]), axis=1)
    for cols, files in layout.groupby(layout, sort=False):
        rows = raw.loc[raw["source_file"].isin(files.index), list(cols)].reset_index(drop=True)
        name = files.index[0] if len(files) == 1 else f"{files.index[0]} (+{len(files) - 1} files)"
        res = normalise(rows, source_file=str(name), **opts)
        cleans.append(res.clean)
        quars.append(res.quarantine)
        fmt = res.format_name
    clean = pd.concat(cleans, ignore_index=True) if cleans else empty_frame(CLEAN_QUOTE_COLUMNS)
    quar = pd.concat(quars, ignore_index=True) if quars else empty_frame(QUARANTINE_COLUMNS)
    return NormalisedQuotes(clean=conform(clean, CLEAN_QUOTE_COLUMNS),
                            quarantine=conform(quar, QUARANTINE_COLUMNS), format_name=fmt or "none")


def quarantine_stale(res: NormalisedQuotes, previous: pd.DataFrame | None,
                     min_underlying_move: float = 0.005) -> NormalisedQuotes:
    """Move quotes unchanged since the underlying's previous snapshot (while it moved) to quarantine.

    See `quality.flag_stale`: a multi-day batch is checked snapshot against snapshot in one pass;
    ``previous`` supplies the snapshot before the batch's first one.
    """
    if not len(res.clean):
        return res
    clean = res.clean.reset_index(drop=True)
    mask = flag_stale(clean, previous, min_underlying_move=min_underlying_move)
    if not mask.any():
        return res
    detail = (f"bid and ask unchanged since the previous snapshot while the underlying moved "
              f">= {min_underlying_move:.2%}")
    kept, moved = split_quarantine(clean, mask, ReasonCode.STALE, detail)
    return NormalisedQuotes(
        clean=kept.reset_index(drop=True),
        quarantine=conform(pd.concat([res.quarantine, moved], ignore_index=True), QUARANTINE_COLUMNS),
        format_name=res.format_name)
