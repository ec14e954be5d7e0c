"""The SimMarket facade: vendor-layout chains, bars and truth tables of the simulated market.

Everything is deterministic for a config: daily paths are simulated from ``config.origin`` and
every random draw is keyed by (seed, underlying, date, time, contract), so a session's output is
identical whether it is asked for alone or inside a long range (the range only has to reach it).
No file I/O: every method returns a DataFrame; the pipeline writes files.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pandas as pd

from volmachine_core.conventions import EXCHANGE_TZ
from volmachine_core.market.sim import rng
from volmachine_core.market.sim.badquotes import BAD_REASONS, inject_bad_quotes
from volmachine_core.market.sim.chains import build_chain
from volmachine_core.market.sim.config import SimConfig
from volmachine_core.market.sim.listings import SimCalendar
from volmachine_core.market.sim.paths import DT, fine_log_path, simulate_paths
from volmachine_core.market.sim.snapshot import SimState, day_bumps, snapshot_slices
from volmachine_core.market.sim.vendor_out import eod_frame, intraday_frame

__all__ = ["SimMarket", "SOURCE", "EOD_TIME"]

#: Value of the ``source`` column of everything the simulator produces.
SOURCE = "sim"
#: New York wall-clock time of the end-of-day snapshot.
EOD_TIME = (15, 45)
_OPEN_MIN = 9 * 60 + 30
_STREAM_VOL = rng.name_key("bar_volume")
_BAD_COLUMNS = ["trade_date", "snapshot_id", "underlying", "expiry", "strike", "right", "kind", "reason"]


def _utc(seconds) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True)


class SimMarket:
    """An embedded simulated options market for ``config.underlyings`` from ``config.origin`` to ``end``.

    Parameters
    ----------
    config : SimConfig, optional
        Defaults to ``SimConfig()``.
    end : date-like, optional
        Last simulated session (inclusive); default one year after the origin.

    Examples
    --------
    >>> m = SimMarket(SimConfig(seed=7), end="2024-03-28")
    >>> chain = m.eod_chain("2024-03-28", "SPX")          # Cboe EOD Summary layout
    """

    def __init__(self, config: SimConfig | None = None, end=None) -> None:
        self.config = config if config is not None else SimConfig()
        origin = pd.Timestamp(self.config.origin)
        end = pd.Timestamp(end) if end is not None else origin + pd.Timedelta(days=365)
        cal = SimCalendar(origin, end)
        self._st = SimState(self.config, cal, simulate_paths(self.config, cal))
        self._fine: dict[int, np.ndarray] = {}
        self._clean: OrderedDict = OrderedDict()
        self._bad: dict[tuple[int, int, int], pd.DataFrame] = {}

    # ----------------------------------------------------------------- calendar and paths
    @property
    def sessions(self) -> pd.DatetimeIndex:
        """Simulated sessions origin..end (naive dates)."""
        return self._st.cal.sessions

    @property
    def underlyings(self) -> list[str]:
        """Symbols of the universe, in config order."""
        return [s.symbol for s in self.config.underlyings]

    def _di(self, date) -> int:
        d = np.datetime64(pd.Timestamp(date).date(), "D")
        i = int(np.searchsorted(self._st.paths.days, d))
        if i >= len(self._st.paths.days) or self._st.paths.days[i] != d:
            raise ValueError(
                f"{pd.Timestamp(date).date()} is not a simulated session "
                f"({self.sessions[0].date()}..{self.sessions[-1].date()})"
            )
        return i

    def _dates(self, dates) -> list[int]:
        if dates is None:
            return list(range(len(self.sessions)))
        if isinstance(dates, str | pd.Timestamp | np.datetime64) or not hasattr(dates, "__iter__"):
            dates = [dates]
        return sorted({self._di(d) for d in dates})

    def _uis(self, underlyings) -> list[int]:
        if underlyings is None:
            return list(range(len(self.config.underlyings)))
        if isinstance(underlyings, str):
            underlyings = [underlyings]
        return [self._st.ui(u) for u in underlyings]

    def _fine_path(self, ui: int) -> np.ndarray:
        if ui not in self._fine:
            p, cal = self._st.paths, self._st.cal
            n = len(p.days)
            self._fine[ui] = np.exp(
                fine_log_path(
                    self.config.seed,
                    p.symbols[ui],
                    p.days,
                    np.log(p.open[:, ui]),
                    np.log(p.close[:, ui]),
                    p.sigma_prev[:, ui],
                    cal.n_minutes[:n],
                )
            )
        return self._fine[ui]

    def _spot(self, ui: int, di: int, minute: int) -> float:
        m = min(minute, int(self._st.cal.n_minutes[di]))
        return float(self._fine_path(ui)[di, m])

    def intraday_times(self, date) -> list[pd.Timestamp]:
        """New York-local (tz-aware) times of the intraday snapshots of a session (before its close)."""
        di = self._di(date)
        h0, m0 = (int(x) for x in self.config.intraday_start.split(":"))
        h1, m1 = (int(x) for x in self.config.intraday_end.split(":"))
        n_min = int(self._st.cal.n_minutes[di])
        day = pd.Timestamp(self._st.paths.days[di])
        out = []
        for t in range(h0 * 60 + m0, h1 * 60 + m1 + 1, self.config.intraday_minutes):
            if t - _OPEN_MIN < n_min:
                out.append((day + pd.Timedelta(minutes=t)).tz_localize(EXCHANGE_TZ))
        return out

    # ----------------------------------------------------------------- snapshots
    @staticmethod
    def _hhmm(time) -> tuple[int, int]:
        if isinstance(time, str) and len(time) <= 5:
            h, m = time.split(":")
            return int(h), int(m)
        ts = pd.Timestamp(time)
        if ts.tzinfo is not None:
            ts = ts.tz_convert(EXCHANGE_TZ)
        return ts.hour, ts.minute

    def _slices(self, ui: int, di: int, hh: int, mm: int):
        minute = hh * 60 + mm - _OPEN_MIN
        quote_s = int(self._st.cal.open_s[di]) + 60 * minute
        spot = self._spot(ui, di, minute)
        return snapshot_slices(self._st, ui, di, quote_s, spot), quote_s, spot

    def _clean_chain(self, ui: int, di: int, hh: int, mm: int, eod: bool):
        key = (ui, di, hh * 100 + mm, eod)
        if key in self._clean:
            self._clean.move_to_end(key)
            return self._clean[key]
        st, spec = self._st, self.config.underlyings[ui]
        sl, quote_s, spot = self._slices(ui, di, hh, mm)
        bumps = [(e, sd, sh) for (u, e, sd, sh) in day_bumps(st, di) if u == ui]
        kw = {}
        if eod:
            kw = {
                "spot_close": float(st.paths.close[di, ui]),
                "close_s": max(int(st.cal.close_s[di]), quote_s),
            }
        frac = 1.0 if eod else self.config.intraday_minutes / 390.0
        ch = build_chain(
            spec,
            self.config.seed,
            st.paths.days[di],
            hh * 100 + mm,
            quote_s,
            sl,
            bumps,
            self.config.bump_width_sd,
            volume_frac=frac,
            **kw,
        )
        order = np.argsort(ch["ckey"])
        res = (ch, sl, spot, quote_s, (ch["ckey"][order], np.stack([ch["bid"], ch["ask"]], 1)[order], spot))
        self._clean[key] = res
        while len(self._clean) > 24:
            self._clean.popitem(last=False)
        return res

    def _prev_key(self, ui: int, di: int, hh: int, mm: int, eod: bool):
        if eod:
            return None if di == 0 else (ui, di - 1, *EOD_TIME, True)
        times = [self._hhmm(t) for t in self.intraday_times(self.sessions[di])]
        i = times.index((hh, mm)) if (hh, mm) in times else 0
        return None if i == 0 else (ui, di, *times[i - 1], False)

    def _snapshot(self, ui: int, di: int, hh: int, mm: int, eod: bool):
        ch, sl, spot, quote_s, _ = self._clean_chain(ui, di, hh, mm, eod)
        pk = self._prev_key(ui, di, hh, mm, eod)
        prev = self._clean_chain(*pk)[4] if pk is not None else None
        spec = self.config.underlyings[ui]
        day = self._st.paths.days[di]
        bad, idx, kinds = inject_bad_quotes(
            ch,
            spec,
            self.config.seed,
            int(rng.date_key(day)),
            hh * 100 + mm,
            self.config.bad_quote_rate,
            spot,
            prev,
        )
        sid = f"{pd.Timestamp(day):%Y-%m-%d}T{hh:02d}{mm:02d}"
        truth = pd.DataFrame(
            {
                "trade_date": pd.to_datetime(np.full(len(idx), day)).as_unit("us"),
                "snapshot_id": sid,
                "underlying": spec.symbol,
                "expiry": pd.to_datetime(ch["expiry"][idx]).as_unit("us"),
                "strike": ch["strike"][idx],
                "right": np.where(ch["is_call"][idx], "C", "P"),
                "kind": kinds.astype(str),
                "reason": [BAD_REASONS[k] for k in kinds],
            },
            columns=_BAD_COLUMNS,
        )
        self._bad[(ui, di, hh * 100 + mm)] = truth
        return bad, sl, spot, sid

    def eod_chain(self, date, underlying: str) -> pd.DataFrame:
        """End-of-day chain (Cboe "Option EOD Summary" columns) of one session and underlying."""
        ui, di = self._st.ui(underlying), self._di(date)
        spec = self.config.underlyings[ui]
        bad, sl, spot, _ = self._snapshot(ui, di, *EOD_TIME, True)
        ex = np.searchsorted(sl["expiry"], bad["expiry"])
        implied = bad["discount"] * bad["forward"] + sl["pv_div"][ex]
        return eod_frame(
            bad,
            spec.symbol,
            spec.root,
            f"{pd.Timestamp(self._st.paths.days[di]):%Y-%m-%d}",
            spec.kind,
            spot,
            float(self._st.paths.close[di, ui]),
            implied,
        )

    def eod_chains(self, dates=None, underlyings=None) -> pd.DataFrame:
        """EOD chains of several sessions x underlyings, concatenated (date-major order)."""
        frames = [
            self.eod_chain(self.sessions[di], self.underlyings[ui])
            for di in self._dates(dates)
            for ui in self._uis(underlyings)
        ]
        return pd.concat(frames, ignore_index=True)

    def intraday_chain(self, date, underlying: str, time) -> pd.DataFrame:
        """Intraday snapshot (Cboe "Option Quotes" interval columns) at NY time ``time``.

        ``time`` is a Timestamp (tz-aware, or naive New York wall clock) or 'HH:MM'.
        """
        ui, di = self._st.ui(underlying), self._di(date)
        hh, mm = self._hhmm(time)
        if (hh, mm) not in [self._hhmm(t) for t in self.intraday_times(self.sessions[di])]:
            raise ValueError(
                f"{hh:02d}:{mm:02d} is not an intraday snapshot time of {self.sessions[di].date()}"
            )
        spec = self.config.underlyings[ui]
        bad, _, spot, _ = self._snapshot(ui, di, hh, mm, False)
        qdt = f"{pd.Timestamp(self._st.paths.days[di]):%Y-%m-%d} {hh:02d}:{mm:02d}:00"
        return intraday_frame(bad, spec.symbol, spec.root, qdt, spec.kind, spot)

    # ----------------------------------------------------------------- bars and truth
    def bars(self, dates=None, underlyings=None) -> pd.DataFrame:
        """Daily bars: trade_date, underlying, open, high, low, close, volume, source (minute path)."""
        dis = np.asarray(self._dates(dates), dtype=np.int64)
        p = self._st.paths
        frames = []
        for ui in self._uis(underlyings):
            spec = self.config.underlyings[ui]
            fine = self._fine_path(ui)[dis]
            z = rng.normal(
                self.config.seed, _STREAM_VOL, rng.name_key(spec.symbol), rng.date_key(p.days[dis])
            )
            move = np.abs(p.ret[dis, ui]) / (p.sigma_prev[dis, ui] * np.sqrt(DT))
            frames.append(
                pd.DataFrame(
                    {
                        "trade_date": pd.to_datetime(p.days[dis]).as_unit("us"),
                        "underlying": spec.symbol,
                        "open": p.open[dis, ui],
                        "high": fine.max(axis=1),
                        "low": fine.min(axis=1),
                        "close": p.close[dis, ui],
                        "volume": np.round(spec.base_volume * np.exp(0.25 * z) * (1.0 + 0.4 * move)),
                        "source": SOURCE,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True).sort_values(
            ["trade_date", "underlying"], ignore_index=True
        )

    def _snapshot_slices(self, dates, underlyings, intraday: bool):
        for di in self._dates(dates):
            times = [EOD_TIME] + (
                [self._hhmm(t) for t in self.intraday_times(self.sessions[di])] if intraday else []
            )
            for ui in self._uis(underlyings):
                for hh, mm in times:
                    sl, quote_s, spot = self._slices(ui, di, hh, mm)
                    sid = f"{pd.Timestamp(self._st.paths.days[di]):%Y-%m-%d}T{hh:02d}{mm:02d}"
                    yield di, ui, sid, quote_s, spot, sl

    def truth_forwards(self, dates=None, underlyings=None, intraday: bool = False) -> pd.DataFrame:
        """True forward and discount factor per snapshot x underlying x expiry (EOD; + intraday if asked).

        Columns: snapshot_id, quote_ts (UTC), trade_date, underlying, expiry, expiry_ts (UTC), tau
        (ACT/365), bdays, forward, discount_factor, rate (continuous), spot, pv_dividends.
        """
        rows = []
        for di, ui, sid, quote_s, spot, sl in self._snapshot_slices(dates, underlyings, intraday):
            n = len(sl["expiry"])
            rows.append(
                pd.DataFrame(
                    {
                        "snapshot_id": sid,
                        "quote_ts": _utc(np.full(n, quote_s)),
                        "trade_date": pd.to_datetime(np.full(n, self._st.paths.days[di])).as_unit("us"),
                        "underlying": self.underlyings[ui],
                        "expiry": pd.to_datetime(sl["expiry"]).as_unit("us"),
                        "expiry_ts": _utc(sl["settle_s"]),
                        "tau": sl["tau"],
                        "bdays": sl["bdays"].astype(np.int64),
                        "forward": sl["forward"],
                        "discount_factor": sl["discount"],
                        "rate": sl["rate"],
                        "spot": spot,
                        "pv_dividends": sl["pv_div"],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def truth_surface(self, dates=None, underlyings=None, intraday: bool = False) -> pd.DataFrame:
        """True SSVI slice per snapshot x underlying x expiry, unbumped, plus that day's bumps.

        Columns: snapshot_id, trade_date, underlying, expiry, tau, bdays, forward, atm_vol, theta,
        rho, phi, eta, gamma, event_var, params (JSON: model 'ssvi', the same numbers, bumps as a list
        of {target_sd, vol_shift, width_sd}). Total variance ``w(k) = theta/2 (1 + rho phi k +
        sqrt((phi k + rho)^2 + 1 - rho^2))`` at ``k = ln(K/F)``.
        """
        rows = []
        for di, ui, sid, _, _, sl in self._snapshot_slices(dates, underlyings, intraday):
            bumps = [(e, sd, sh) for (u, e, sd, sh) in day_bumps(self._st, di) if u == ui]
            params = []
            for i in range(len(sl["expiry"])):
                b = [
                    {"target_sd": sd, "vol_shift": sh, "width_sd": self.config.bump_width_sd}
                    for (e, sd, sh) in bumps
                    if e == sl["expiry"][i]
                ]
                params.append(
                    json.dumps(
                        {
                            "model": "ssvi",
                            "theta": float(sl["theta"][i]),
                            "rho": float(sl["rho"][i]),
                            "phi": float(sl["phi"][i]),
                            "eta": float(sl["eta"][i]),
                            "gamma": float(sl["gamma"]),
                            "atm_vol": float(sl["atm_vol"][i]),
                            "event_var": float(sl["event_var"][i]),
                            "forward": float(sl["forward"][i]),
                            "calendar_repaired": bool(sl["repaired"][i]),
                            "bumps": b,
                        }
                    )
                )
            rows.append(
                pd.DataFrame(
                    {
                        "snapshot_id": sid,
                        "trade_date": pd.to_datetime(np.full(len(params), self._st.paths.days[di])),
                        "underlying": self.underlyings[ui],
                        "expiry": pd.to_datetime(sl["expiry"]),
                        "tau": sl["tau"],
                        "bdays": sl["bdays"].astype(np.int64),
                        "forward": sl["forward"],
                        "atm_vol": sl["atm_vol"],
                        "theta": sl["theta"],
                        "rho": sl["rho"],
                        "phi": sl["phi"],
                        "eta": sl["eta"],
                        "gamma": float(sl["gamma"]),
                        "event_var": sl["event_var"],
                        "params": params,
                    }
                )
            )
        out = pd.concat(rows, ignore_index=True)
        out["trade_date"] = out["trade_date"].astype("datetime64[us]")
        out["expiry"] = out["expiry"].astype("datetime64[us]")
        return out

    def truth_mispricings(self, dates=None, underlyings=None) -> pd.DataFrame:
        """Planted bumps: trade_date, underlying, expiry, target_sd, vol_shift (decimal), width_sd."""
        uis = set(self._uis(underlyings))
        rows = [
            (self._st.paths.days[di], self.underlyings[u], e, sd, sh, self.config.bump_width_sd)
            for di in self._dates(dates)
            for (u, e, sd, sh) in day_bumps(self._st, di)
            if u in uis
        ]
        df = pd.DataFrame(
            rows, columns=["trade_date", "underlying", "expiry", "target_sd", "vol_shift", "width_sd"]
        )
        for c in ("trade_date", "expiry"):
            df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
        return df.astype({"target_sd": float, "vol_shift": float, "width_sd": float})

    def truth_events(self, underlyings=None, start=None, end=None) -> pd.DataFrame:
        """Realised events: underlying, event_date, kind ('earnings' move = log move; 'dividend' = cash)."""
        p = self._st.paths
        lo = np.datetime64(pd.Timestamp(start).date(), "D") if start is not None else p.days[0]
        hi = np.datetime64(pd.Timestamp(end).date(), "D") if end is not None else p.days[-1]
        rows = []
        for ui in self._uis(underlyings):
            m = ~np.isnan(p.earn_move[:, ui])
            rows += [
                (p.symbols[ui], d, "earnings", float(v))
                for d, v in zip(p.days[m], p.earn_move[m, ui], strict=True)
            ]
            m = p.div_cash[:, ui] > 0
            rows += [
                (p.symbols[ui], d, "dividend", float(v))
                for d, v in zip(p.days[m], p.div_cash[m, ui], strict=True)
            ]
        df = pd.DataFrame(rows, columns=["underlying", "event_date", "kind", "move"])
        df["event_date"] = pd.to_datetime(df["event_date"]).astype("datetime64[us]")
        df = df[(df["event_date"] >= pd.Timestamp(lo)) & (df["event_date"] <= pd.Timestamp(hi))]
        return df.sort_values(["event_date", "underlying", "kind"], ignore_index=True).astype({"move": float})

    def scheduled_events(self, underlyings=None, start=None, end=None) -> pd.DataFrame:
        """Scheduled earnings sessions, known ahead as real report dates are: underlying, event_date, kind.

        Unlike :meth:`truth_events` the schedule runs past the simulated range (through the listing
        horizon, about 2.6 years beyond ``end``) and carries no move: a move is known only once it
        happened. ``start``/``end`` filter event dates (inclusive; default the whole schedule).
        """
        p = self._st.paths
        rows = [(p.symbols[ui], d) for ui in self._uis(underlyings) for d in p.earn_dates[p.symbols[ui]]]
        df = pd.DataFrame(rows, columns=["underlying", "event_date"]).assign(kind="earnings")
        df["event_date"] = pd.to_datetime(df["event_date"]).astype("datetime64[us]")
        if start is not None:
            df = df[df["event_date"] >= pd.Timestamp(start).normalize()]
        if end is not None:
            df = df[df["event_date"] <= pd.Timestamp(end).normalize()]
        return df.sort_values(["event_date", "underlying"], ignore_index=True)

    def truth_regimes(self, dates=None, underlyings=None) -> pd.DataFrame:
        """Market regime per session x underlying (index-driven, shared): trade_date, underlying, regime."""
        dis = np.asarray(self._dates(dates), dtype=np.int64)
        names = self._st.paths.regime_names()[dis]
        frames = [
            pd.DataFrame(
                {
                    "trade_date": pd.to_datetime(self._st.paths.days[dis]).as_unit("us"),
                    "underlying": self.underlyings[ui],
                    "regime": names,
                }
            )
            for ui in self._uis(underlyings)
        ]
        return pd.concat(frames, ignore_index=True).sort_values(
            ["trade_date", "underlying"], ignore_index=True
        )

    def truth_bad_quotes(self, dates=None, underlyings=None, intraday: bool = False) -> pd.DataFrame:
        """Injected bad quotes: trade_date, snapshot_id, underlying, expiry, strike, right, kind, reason.

        ``reason`` is the :class:`~volmachine_core.market.schema.ReasonCode` value an ingest should
        give. Chains not built yet are built (and discarded) to find them.
        """
        frames = []
        for di in self._dates(dates):
            times = [EOD_TIME] + (
                [self._hhmm(t) for t in self.intraday_times(self.sessions[di])] if intraday else []
            )
            for ui in self._uis(underlyings):
                for hh, mm in times:
                    key = (ui, di, hh * 100 + mm)
                    if key not in self._bad:
                        self._snapshot(ui, di, hh, mm, (hh, mm) == EOD_TIME)
                    frames.append(self._bad[key])
        return pd.concat(frames, ignore_index=True)
