"""Asset-check evaluation for quote ingestion (pure functions of frames; the assets attach the results)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from volmachine_core.market.schema import CLEAN_QUOTE_COLUMNS


def conservation(raw_counts: pd.Series, clean: pd.DataFrame, quarantine: pd.DataFrame) -> tuple[bool, dict]:
    """Every raw row is clean or quarantined, exactly once, per source file."""
    c = clean.groupby("source_file").size() if len(clean) else pd.Series(dtype=int)
    q = quarantine.groupby("source_file").size() if len(quarantine) else pd.Series(dtype=int)
    tab = pd.DataFrame({"raw": raw_counts, "clean": c, "quarantined": q}).fillna(0).astype(int)
    tab["diff"] = tab["raw"] - tab["clean"] - tab["quarantined"]
    both = pd.concat([clean[["source_file", "source_row"]], quarantine[["source_file", "source_row"]]])
    dup_rows = int(both.duplicated().sum())
    bad = tab[tab["diff"] != 0]
    ok = bad.empty and dup_rows == 0
    return ok, {"files": len(tab), "raw_rows": int(tab["raw"].sum()), "clean_rows": int(tab["clean"].sum()),
                "quarantined_rows": int(tab["quarantined"].sum()), "rows_counted_twice": dup_rows,
                "unbalanced_files": bad.index.tolist()[:20]}


def schema_ok(clean: pd.DataFrame) -> tuple[bool, dict]:
    """Columns and dtypes of the clean quotes match the contract; basic invariants hold."""
    cols = list(clean.columns)
    want = list(CLEAN_QUOTE_COLUMNS)
    missing = [c for c in want if c not in cols]
    wrong = {c: str(clean[c].dtype) for c, t in CLEAN_QUOTE_COLUMNS.items()
             if c in cols and str(clean[c].dtype) != t}
    problems = {}
    if len(clean) and not missing:
        problems = {
            "right_not_CP": int((~clean["right"].isin(["C", "P"])).sum()),
            "crossed": int((clean["bid"] > clean["ask"]).sum()),
            "nonpositive_ask": int((clean["ask"] <= 0).sum()),
            "expired": int((clean["expiry_ts"] < clean["quote_ts"]).sum()),
        }
    ok = not missing and not wrong and not any(problems.values())
    return ok, {"missing_columns": missing, "wrong_dtypes": wrong, **problems}


def quarantine_rate(n_raw: int, n_quarantined: int, warn_share: float) -> tuple[bool, dict]:
    share = n_quarantined / n_raw if n_raw else 0.0
    return share <= warn_share, {"quarantine_share": round(share, 6), "warn_above": warn_share}


def results(asset_key: dg.AssetKey, conserved, schema, rate) -> list[dg.AssetCheckResult]:
    """The three per-run checks as AssetCheckResults (conservation and schema block downstream)."""
    out = []
    for name, (ok, meta), sev in (("row_conservation", conserved, dg.AssetCheckSeverity.ERROR),
                                  ("schema", schema, dg.AssetCheckSeverity.ERROR),
                                  ("quarantine_rate", rate, dg.AssetCheckSeverity.WARN)):
        out.append(dg.AssetCheckResult(asset_key=asset_key, check_name=name, passed=bool(ok),
                                       severity=sev, metadata={k: dg.MetadataValue.json(v)
                                                               if isinstance(v, (list, dict)) else v
                                                               for k, v in meta.items()}))
    return out


def evaluate(asset_key: dg.AssetKey, raw: pd.DataFrame, clean: pd.DataFrame, quarantine: pd.DataFrame,
             warn_share: float) -> list[dg.AssetCheckResult]:
    """Run the three per-run checks of a clean-quotes materialisation."""
    return results(asset_key, conservation(raw.groupby("source_file").size(), clean, quarantine),
                   schema_ok(clean), quarantine_rate(len(raw), len(quarantine), warn_share))


def check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("row_conservation", asset=asset_key, blocking=True,
                          description="Every raw row is clean or quarantined, exactly once, per source file."),
        dg.AssetCheckSpec("schema", asset=asset_key, blocking=True,
                          description="Clean quotes have the contract's columns and dtypes; no crossed "
                                      "or expired quotes, right is C or P."),
        dg.AssetCheckSpec("quarantine_rate", asset=asset_key,
                          description="Warns when the quarantined share of raw rows exceeds "
                                      "settings data.quarantine_warn_share."),
    ]
