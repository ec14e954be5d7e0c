"""An implied-volatility surface per (snapshot, underlying), built from fitted per-expiry curves.

The surface is a grid of total implied variance ``w = vol^2 tau`` on nodes in forward log-moneyness
``k = ln(K/F)`` (one row of nodes per listed expiry) and is queried between and beyond the nodes:

* **In k, within an expiry** (a *slice*): monotone cubic (PCHIP, Fritsch and Carlson 1980) in ``w``.
  Grids built by :meth:`VolSurface.from_svi` / :meth:`VolSurface.from_callable` place the nodes at
  fixed SD moneyness ``z = k / (atm_vol sqrt(tau))`` from ``-z_max`` to ``+z_max`` (3.5 SD, 21 nodes
  by default, so ``z = 0`` is a node), so every slice is resolved equally well however short.
* **In tau, between expiries**: linear in total variance at fixed ``k``. A convex combination of two
  slices with ``w_1(k) <= w_2(k)`` is between them, so calendar-arbitrage freedom of the slices
  carries over to every intermediate tenor.
* **Backstops.** Beyond a slice's outermost node the slice's vol is held flat at the edge vol: flat in
  SD at ``+-z_max`` for SD-spaced grids. Before the first expiry the first expiry's vol at the same
  ``k`` is used; after the last, the total-variance rate ``w/tau`` at fixed ``k`` is held constant
  (both keep ``w`` increasing in ``tau``, so no calendar arbitrage is introduced).
* **Forward and re-centring.** Each expiry keeps the underlying price at fit time ``S_fit`` beside its
  forward ``F``; a query at another spot re-centres it, ``F_new = F S_new / S_fit`` (sticky moneyness,
  DESIGN.md). Between expiries ``ln(F/S)`` is linear in ``tau`` (zero at ``tau = 0``), beyond the last
  one the last carry rate ``ln(F/S)/tau`` is held.

Units: vols are decimals per sqrt(year), ``tau`` ACT/365 years, total variance in years x vol^2,
strikes and prices per unit of underlying.

Objects are immutable: every method returns new arrays or a new :class:`VolSurface`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from volmachine_core.curves.svi import svi_total_variance
from volmachine_core.forward_vol import ForwardVolStatus, forward_vol, forward_vol_from_w, forward_vol_with_status
from volmachine_core.interp import pchip_slopes

__all__ = [
    "DEFAULT_N_K",
    "DEFAULT_Z_MAX",
    "ForwardVolStatus",
    "VolSurface",
    "forward_vol",
    "forward_vol_with_status",
]

#: Number of SD-spaced k nodes per expiry in grids built from curves (odd, so ``z = 0`` is a node).
DEFAULT_N_K = 21
#: Outermost grid node in ATM standard deviations (``|z|``).
DEFAULT_Z_MAX = 3.5

SVI_COLUMNS = ("a", "b", "rho", "m", "sigma")

ERR_TAU = "{name} must be finite, > 0 and strictly increasing (one row per expiry); got {value!r}"
ERR_SHAPE = "{name} must have shape {expected}, got {got}"
ERR_POSITIVE = "{name} must be finite and > 0"
ERR_NODES = "k nodes must be finite and strictly increasing along each expiry row"
ERR_W = "total variance w_matrix must be finite and >= 0"
ERR_WEIGHT = "weight must be in [0, 1], got {value!r}"
ERR_COLUMNS = "frame is missing columns {missing}"
ERR_N_K = "n_k must be an integer >= 2, got {value!r}"
ERR_Z_MAX = "z_max must be finite and > 0, got {value!r}"


def _readonly(a, dtype=float) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class VolSurface:
    """Total-variance grid of one (snapshot, underlying): one row of k nodes per listed expiry.

    Build it with :meth:`from_svi`, :meth:`from_callable`, :meth:`from_samples` or
    :meth:`from_total_variance` rather than directly.

    Parameters
    ----------
    tau : ndarray, shape (n_exp,)
        ACT/365 years from the snapshot to each expiry, ``> 0``, strictly increasing.
    forward : ndarray, shape (n_exp,)
        Forward to each expiry at fit time, ``> 0``.
    spot : ndarray, shape (n_exp,)
        Underlying price recorded beside each forward at fit time (``S_fit``), ``> 0``.
    atm_vol : ndarray, shape (n_exp,)
        Vol at ``k = 0`` of each expiry (decimal).
    k_nodes : ndarray, shape (n_exp, n_k)
        Log-moneyness ``ln(K/F)`` nodes of each expiry row, strictly increasing along a row.
    w_nodes : ndarray, shape (n_exp, n_k)
        Total implied variance at the nodes, ``>= 0``.
    expiry_ts : pandas.DatetimeIndex, optional
        Expiry timestamps (UTC) of the rows, for labelling.
    underlying, snapshot_id : str, optional
        Labels.
    """

    tau: np.ndarray
    forward: np.ndarray
    spot: np.ndarray
    atm_vol: np.ndarray
    k_nodes: np.ndarray
    w_nodes: np.ndarray
    expiry_ts: pd.DatetimeIndex | None = None
    underlying: str | None = None
    snapshot_id: str | None = None
    _slopes: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tau = np.atleast_1d(np.asarray(self.tau, dtype=float))
        n = tau.size
        if tau.ndim != 1 or n == 0 or not np.all(np.isfinite(tau)) or np.any(tau <= 0) or np.any(np.diff(tau) <= 0):
            raise ValueError(ERR_TAU.format(name="tau", value=tau))
        fwd = np.broadcast_to(np.asarray(self.forward, dtype=float), (n,))
        spot = np.broadcast_to(np.asarray(self.spot, dtype=float), (n,))
        atm = np.broadcast_to(np.asarray(self.atm_vol, dtype=float), (n,))
        for name, arr in (("forward", fwd), ("spot", spot), ("atm_vol", atm)):
            if not np.all(np.isfinite(arr) & (arr > 0)):
                raise ValueError(ERR_POSITIVE.format(name=name))
        k = np.asarray(self.k_nodes, dtype=float)
        if k.ndim == 1:
            k = np.broadcast_to(k, (n, k.size))
        w = np.asarray(self.w_nodes, dtype=float)
        if k.ndim != 2 or k.shape[0] != n or k.shape[1] < 2:
            raise ValueError(ERR_SHAPE.format(name="k_nodes", expected=f"({n}, n_k >= 2)", got=k.shape))
        if w.shape != k.shape:
            raise ValueError(ERR_SHAPE.format(name="w_nodes", expected=k.shape, got=w.shape))
        if not np.all(np.isfinite(k)) or np.any(np.diff(k, axis=1) <= 0):
            raise ValueError(ERR_NODES)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(ERR_W)
        set_ = object.__setattr__
        set_(self, "tau", _readonly(tau))
        set_(self, "forward", _readonly(fwd))
        set_(self, "spot", _readonly(spot))
        set_(self, "atm_vol", _readonly(atm))
        set_(self, "k_nodes", _readonly(k))
        set_(self, "w_nodes", _readonly(w))
        if self.expiry_ts is not None:
            ets = pd.DatetimeIndex(pd.to_datetime(self.expiry_ts, utc=True))
            if len(ets) != n:
                raise ValueError(ERR_SHAPE.format(name="expiry_ts", expected=(n,), got=(len(ets),)))
            set_(self, "expiry_ts", ets)
        set_(self, "_slopes", _readonly(pchip_slopes(k, w)))

    # ----------------------------------------------------------------------------------------------
    # constructors
    # ----------------------------------------------------------------------------------------------
    @classmethod
    def from_total_variance(
        cls,
        taus,
        forwards,
        spot,
        k_grid,
        w_matrix,
        atm_vols=None,
        expiry_ts=None,
        underlying: str | None = None,
        snapshot_id: str | None = None,
    ) -> VolSurface:
        """A surface whose nodes are given total variances.

        Parameters
        ----------
        taus : array_like, shape (n_exp,)
            ACT/365 years to each expiry, strictly increasing (sorted here if not).
        forwards : array_like, shape (n_exp,)
            Forward of each expiry at fit time.
        spot : float or array_like, shape (n_exp,)
            Underlying price at fit time (``S_fit``).
        k_grid : array_like, shape (n_k,) or (n_exp, n_k)
            Log-moneyness nodes ``ln(K/F)``, common or per expiry, strictly increasing along a row.
        w_matrix : array_like, shape (n_exp, n_k)
            Total variance ``vol^2 tau`` at the nodes.
        atm_vols : array_like, shape (n_exp,), optional
            ATM vols; by default read off the interpolated slice at ``k = 0``.
        expiry_ts : array_like of timestamps, optional
        underlying, snapshot_id : str, optional

        Returns
        -------
        VolSurface
        """
        taus = np.atleast_1d(np.asarray(taus, dtype=float))
        order = np.argsort(taus, kind="stable")
        n = taus.size
        k = np.asarray(k_grid, dtype=float)
        k = np.broadcast_to(k, (n, k.size)) if k.ndim == 1 else k
        w = np.asarray(w_matrix, dtype=float)
        if w.ndim != 2 or w.shape[0] != n:
            raise ValueError(ERR_SHAPE.format(name="w_matrix", expected=f"({n}, n_k)", got=w.shape))
        fwd = np.broadcast_to(np.asarray(forwards, dtype=float), (n,))
        spot_a = np.broadcast_to(np.asarray(spot, dtype=float), (n,))
        ets = None if expiry_ts is None else pd.DatetimeIndex(pd.to_datetime(expiry_ts, utc=True))[order]
        provisional = atm_vols is None
        atm = np.ones(n) if provisional else np.broadcast_to(np.asarray(atm_vols, dtype=float), (n,))
        surf = cls(taus[order], fwd[order], spot_a[order], atm[order], k[order], w[order], ets, underlying, snapshot_id)
        return surf._with_atm_from_grid() if provisional else surf

    @classmethod
    def from_callable(
        cls,
        frame: pd.DataFrame,
        total_variance: Callable[[np.ndarray, int], np.ndarray],
        n_k: int = DEFAULT_N_K,
        z_max: float = DEFAULT_Z_MAX,
        spot: float | None = None,
    ) -> VolSurface:
        """A surface on SD-spaced nodes from a per-expiry total-variance function.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per expiry with ``tau`` (years), ``forward`` and ``underlying_price`` (spot at fit
            time); optional ``atm_vol`` (else ``sqrt(w(0)/tau)``), ``expiry_ts`` (or ``expiry``),
            ``underlying``, ``snapshot_id`` (used as labels when single-valued).
        total_variance : callable
            ``total_variance(k_array, row_index) -> w_array``: total variance of the expiry in
            positional row ``row_index`` of ``frame`` at log-moneyness ``k = ln(K/F)``.
        n_k : int
            Nodes per expiry, spaced evenly in SD from ``-z_max`` to ``+z_max``.
        z_max : float
            Outermost node in ATM SDs; beyond it the slice's vol is flat (flat in SD).
        spot : float, optional
            Underlying price at fit time, used when ``frame`` has no ``underlying_price`` column
            (e.g. ``curve_params`` rows).

        Returns
        -------
        VolSurface
        """
        _check_grid_args(n_k, z_max)
        if "underlying_price" not in frame.columns and spot is not None:
            frame = frame.assign(underlying_price=float(spot))
        _require(frame, ("tau", "forward", "underlying_price"))
        tau = frame["tau"].to_numpy(dtype=float)
        n = len(frame)
        zero = np.zeros(1)
        if "atm_vol" in frame.columns:
            atm = frame["atm_vol"].to_numpy(dtype=float)
        else:
            w0 = np.array([np.asarray(total_variance(zero, i), dtype=float).reshape(-1)[0] for i in range(n)])
            with np.errstate(divide="ignore", invalid="ignore"):
                atm = np.sqrt(w0 / tau)
        with np.errstate(invalid="ignore"):
            sd = atm * np.sqrt(tau)
        z = np.linspace(-z_max, z_max, n_k)
        k = z[None, :] * sd[:, None]
        w = np.vstack([np.asarray(total_variance(k[i], i), dtype=float).reshape(n_k) for i in range(n)]) if n else k
        return cls.from_total_variance(
            tau,
            frame["forward"].to_numpy(dtype=float),
            frame["underlying_price"].to_numpy(dtype=float),
            k,
            w,
            atm_vols=atm,
            expiry_ts=_expiry_ts(frame),
            underlying=_label(frame, "underlying"),
            snapshot_id=_label(frame, "snapshot_id"),
        )

    @classmethod
    def from_svi(
        cls,
        frame: pd.DataFrame,
        n_k: int = DEFAULT_N_K,
        z_max: float = DEFAULT_Z_MAX,
        spot: float | None = None,
    ) -> VolSurface:
        """A surface from raw-SVI fits, one row per expiry.

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns ``tau``, ``forward``, ``underlying_price`` and the raw SVI parameters ``a, b, rho,
            m, sigma`` (or a ``params`` column of JSON objects holding them, as in ``curve_params``);
            optional ``atm_vol``, ``expiry_ts``/``expiry``, ``underlying``, ``snapshot_id``. Rows
            whose parameters or ``tau`` are not finite (failed fits) are skipped; at least one must
            remain. One snapshot and underlying per call.
        n_k, z_max, spot
            As in :meth:`from_callable`.

        Returns
        -------
        VolSurface

        Notes
        -----
        Raw SVI (Gatheral 2004): ``w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))``.
        """
        params = _svi_params(frame)
        _require(frame, ("tau",))
        usable = np.isfinite(params).all(axis=1) & np.isfinite(frame["tau"].to_numpy(dtype=float))
        if not usable.any():
            raise ValueError("no expiry with finite raw SVI parameters and tau")
        if not usable.all():
            frame, params = frame.loc[usable], params[usable]

        def w_of(k: np.ndarray, i: int) -> np.ndarray:
            return svi_total_variance(k, *params[i])

        return cls.from_callable(frame, w_of, n_k=n_k, z_max=z_max, spot=spot)

    @classmethod
    def from_samples(
        cls,
        frame: pd.DataFrame,
        samples: pd.DataFrame,
        n_k: int = DEFAULT_N_K,
        z_max: float = DEFAULT_Z_MAX,
    ) -> VolSurface:
        """A surface from sampled total variances of each expiry (PCHIP through the samples).

        Parameters
        ----------
        frame : pandas.DataFrame
            As in :meth:`from_callable`.
        samples : pandas.DataFrame
            Columns ``expiry_index`` (positional row of ``frame``), ``k`` (log-moneyness) and ``w``
            (total variance); at least two distinct ``k`` per expiry. Beyond an expiry's outermost
            sample its vol is held flat.
        n_k, z_max
            As in :meth:`from_callable`.

        Returns
        -------
        VolSurface
        """
        _require(samples, ("expiry_index", "k", "w"))
        s = samples.sort_values(["expiry_index", "k"], kind="stable").drop_duplicates(["expiry_index", "k"])
        groups = {
            int(i): (g["k"].to_numpy(dtype=float), g["w"].to_numpy(dtype=float)) for i, g in s.groupby("expiry_index")
        }
        tau = frame["tau"].to_numpy(dtype=float)
        missing = [i for i in range(len(frame)) if i not in groups or groups[i][0].size < 2]
        if missing:
            raise ValueError(f"samples need at least two distinct k for every expiry; missing rows {missing}")
        per_row = [
            cls.from_total_variance([tau[i]], 1.0, 1.0, groups[i][0], groups[i][1][None, :], atm_vols=1.0)
            for i in range(len(frame))
        ]

        def w_of(k: np.ndarray, i: int) -> np.ndarray:
            return per_row[i]._row_w(np.zeros(np.size(k), dtype=np.intp), np.asarray(k, dtype=float).reshape(-1))

        return cls.from_callable(frame, w_of, n_k=n_k, z_max=z_max)

    # ----------------------------------------------------------------------------------------------
    # evaluation
    # ----------------------------------------------------------------------------------------------
    @property
    def n_expiries(self) -> int:
        """Number of expiry rows."""
        return int(self.tau.size)

    def forward_at(self, tau, spot=None) -> np.ndarray:
        """Forward to ``tau`` (years), re-centred to ``spot`` when given (``F S_new / S_fit``).

        ``ln(F/S_fit)`` is interpolated linearly in ``tau`` from 0 at ``tau = 0`` through the expiries and
        extrapolated at the last expiry's carry rate; without ``spot`` the fit-time spot is used
        (interpolated log-linearly between expiries if they differ).
        """
        tau = np.asarray(tau, dtype=float)
        carry = np.log(self.forward / self.spot)
        t_nodes = np.concatenate([[0.0], self.tau])
        c_nodes = np.concatenate([[0.0], carry])
        c = np.interp(tau, t_nodes, c_nodes)
        c = np.where(tau > self.tau[-1], carry[-1] * tau / self.tau[-1], c)
        if spot is None:
            ls = np.interp(tau, self.tau, np.log(self.spot))
        else:
            ls = np.log(np.asarray(spot, dtype=float))
        return np.exp(ls + c)

    def total_variance(self, k, tau) -> np.ndarray:
        """Total implied variance ``w(k, tau)`` in years x vol^2.

        Parameters
        ----------
        k : array_like
            Forward log-moneyness ``ln(K/F(tau))``.
        tau : array_like
            Years to expiry; broadcast against ``k``. ``tau <= 0`` gives 0.

        Returns
        -------
        ndarray
            PCHIP in ``k`` within each expiry (flat vol beyond its outer nodes), linear in ``tau`` at
            fixed ``k`` between expiries, ``w(k, tau_1) tau / tau_1`` before the first expiry and
            ``w(k, tau_n) tau / tau_n`` after the last.
        """
        k, tau = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(tau, dtype=float))
        shape = k.shape
        k, tau = k.reshape(-1), tau.reshape(-1)
        taus = self.tau
        n = taus.size
        i = np.searchsorted(taus, tau, side="right") - 1
        lo = np.clip(i, 0, n - 1)
        hi = np.clip(i + 1, 0, n - 1)
        w_lo = self._row_w(lo, k)
        w_hi = self._row_w(hi, k)
        inside = (hi > lo) & (i >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(inside, (tau - taus[lo]) / (taus[hi] - taus[lo]), 0.0)
            scale = np.where(inside, 1.0, np.maximum(tau, 0.0) / taus[lo])
        w = (w_lo + frac * (w_hi - w_lo)) * scale
        w = np.where(np.isfinite(k) & np.isfinite(tau), w, np.nan)
        return w.reshape(shape)

    def vol(self, k, tau) -> np.ndarray:
        """Implied vol (decimal) at log-moneyness ``k`` and ``tau`` years; NaN for ``tau <= 0``."""
        w = self.total_variance(k, tau)
        tau = np.broadcast_to(np.asarray(tau, dtype=float), w.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tau > 0, np.sqrt(w / np.where(tau > 0, tau, 1.0)), np.nan)

    def query(self, spot, strike, tau) -> np.ndarray:
        """Implied vols at strikes and tenors for an underlying price, vectorised.

        Parameters
        ----------
        spot : float, array_like or None
            Current underlying price; the forwards are re-centred ``F_new = F S_new / S_fit``. None
            queries at the fit-time spot.
        strike : array_like
            Strikes, ``> 0`` (NaN returned otherwise).
        tau : array_like
            ACT/365 years to expiry (NaN returned for ``tau <= 0``).

        Returns
        -------
        ndarray
            Vols (decimal per sqrt(year)), broadcast shape of the inputs.
        """
        strike = np.asarray(strike, dtype=float)
        tau = np.asarray(tau, dtype=float)
        if spot is not None:
            spot, strike, tau = np.broadcast_arrays(np.asarray(spot, dtype=float), strike, tau)
        else:
            strike, tau = np.broadcast_arrays(strike, tau)
        F = self.forward_at(tau, spot)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.log(strike / F)
        return self.vol(k, tau)

    def z(self, k, tau) -> np.ndarray:
        """SD moneyness ``k / (atm_vol(tau) sqrt(tau))`` with the surface's ATM vol at ``tau``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(k, dtype=float) / np.sqrt(self.total_variance(0.0, tau))

    def forward_vol(self, t1, t2, k=0.0) -> np.ndarray:
        """Forward vol between tenors ``t1 < t2`` (years) at fixed log-moneyness ``k`` (default ATM).

        Returns
        -------
        ndarray
            ``sqrt((w(k, t2) - w(k, t1)) / (t2 - t1))``, decimal per sqrt(year); NaN (no warning) where
            the forward variance is negative or ``t2 <= t1``.
        """
        w1 = self.total_variance(k, t1)
        w2 = self.total_variance(k, t2)
        vol, _ = forward_vol_from_w(w1, t1, w2, t2)
        return vol

    def is_calendar_free(self, k=None, tol: float = 1e-12) -> bool:
        """True when ``w(k, tau_i)`` is non-decreasing over the expiries at every ``k`` checked.

        ``k`` defaults to every node of every row (the slices are evaluated at all of them).
        """
        kk = np.unique(self.k_nodes) if k is None else np.asarray(k, dtype=float).reshape(-1)
        w = self.total_variance(kk[None, :], self.tau[:, None])
        return bool(np.all(np.diff(w, axis=0) >= -tol))

    # ----------------------------------------------------------------------------------------------
    # new surfaces
    # ----------------------------------------------------------------------------------------------
    def recentre(self, spot: float) -> VolSurface:
        """A surface re-centred to a new underlying price (sticky moneyness).

        Every forward becomes ``F S_new / S_fit`` and ``S_fit`` becomes ``spot``; the smiles in ``k`` are
        unchanged, so each strike's vol moves with ``K S_new / S_fit``.
        """
        s = float(spot)
        if not (np.isfinite(s) and s > 0):
            raise ValueError(ERR_POSITIVE.format(name="spot"))
        return self._replace(forward=self.forward * s / self.spot, spot=np.full(self.n_expiries, s))

    def update(self, strike, vol, tau, weight: float = 0.8, spot=None) -> VolSurface:
        """Blend observed vols into the grid (an intraday smoothing step between full refits).

        Parameters
        ----------
        strike, vol, tau : array_like
            Observed strikes, implied vols (decimal) and years to expiry, broadcast together.
            Non-finite, ``vol <= 0`` or ``tau <= 0`` observations are ignored.
        weight : float
            Weight on the old grid value, in ``[0, 1]``: ``w_new = weight w_old + (1 - weight) w_obs``.
        spot : float, optional
            Underlying price of the observations (forwards re-centred to it to compute ``k``).

        Returns
        -------
        VolSurface
            A new surface; unobserved nodes and the forwards are unchanged, ATM vols are re-read.

        Notes
        -----
        Each observation is assigned to the nearest expiry row (in ``tau``) and, within it, to the
        nearest ``k`` node (``k = ln(K/F(tau))``); its total variance at the row's tenor is
        ``w_obs = vol^2 tau_row`` (the observed vol is taken at the same ``k``). Observations more than
        half a node spacing beyond a row's outer nodes are ignored. Several observations at one node
        are averaged first. The step is in total variance; it can create calendar or butterfly
        arbitrage if observations are noisy (check with :meth:`is_calendar_free`).
        """
        weight = float(weight)
        if not (0.0 <= weight <= 1.0):
            raise ValueError(ERR_WEIGHT.format(value=weight))
        arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (strike, vol, tau)))
        strike, vol, tau = (a.reshape(-1) for a in arrays)
        ok = np.isfinite(strike) & np.isfinite(vol) & np.isfinite(tau) & (strike > 0) & (vol > 0) & (tau > 0)
        strike, vol, tau = strike[ok], vol[ok], tau[ok]
        if strike.size == 0:
            return self
        row = np.abs(self.tau[None, :] - tau[:, None]).argmin(axis=1)
        k = np.log(strike / self.forward_at(tau, spot))
        X = self.k_nodes[row]
        node = np.abs(X - k[:, None]).argmin(axis=1)
        half_lo = 0.5 * (X[:, 1] - X[:, 0])
        half_hi = 0.5 * (X[:, -1] - X[:, -2])
        near = (k >= X[:, 0] - half_lo) & (k <= X[:, -1] + half_hi)
        row, node, w_obs = row[near], node[near], (vol * vol * self.tau[row])[near]
        n_k = self.k_nodes.shape[1]
        flat = row * n_k + node
        size = self.w_nodes.size
        count = np.bincount(flat, minlength=size)
        mean = np.bincount(flat, weights=w_obs, minlength=size) / np.maximum(count, 1)
        old = self.w_nodes.reshape(-1)
        new = np.where(count > 0, weight * old + (1.0 - weight) * mean, old).reshape(self.w_nodes.shape)
        return self._replace(w_nodes=new)._with_atm_from_grid()

    def grid(self) -> pd.DataFrame:
        """The nodes as a long frame: ``row, expiry_ts, tau, node, k, z, w, vol`` (one row per node)."""
        n, n_k = self.k_nodes.shape
        row = np.repeat(np.arange(n), n_k)
        tau = self.tau[row]
        k = self.k_nodes.reshape(-1)
        w = self.w_nodes.reshape(-1)
        out = pd.DataFrame(
            {
                "row": row,
                "expiry_ts": self.expiry_ts[row] if self.expiry_ts is not None else pd.NaT,
                "tau": tau,
                "node": np.tile(np.arange(n_k), n),
                "k": k,
                "z": k / (self.atm_vol[row] * np.sqrt(tau)),
                "w": w,
                "vol": np.sqrt(w / tau),
            }
        )
        return out

    # ----------------------------------------------------------------------------------------------
    # internals
    # ----------------------------------------------------------------------------------------------
    def _replace(self, **changes) -> VolSurface:
        fields = {
            "tau": self.tau,
            "forward": self.forward,
            "spot": self.spot,
            "atm_vol": self.atm_vol,
            "k_nodes": self.k_nodes,
            "w_nodes": self.w_nodes,
            "expiry_ts": self.expiry_ts,
            "underlying": self.underlying,
            "snapshot_id": self.snapshot_id,
        }
        fields.update(changes)
        return VolSurface(**fields)

    def _with_atm_from_grid(self) -> VolSurface:
        w0 = self._row_w(np.arange(self.n_expiries), np.zeros(self.n_expiries))
        atm = np.sqrt(w0 / self.tau)
        if not np.all(np.isfinite(atm) & (atm > 0)):
            raise ValueError(ERR_POSITIVE.format(name="atm_vol (total variance at k = 0)"))
        return self._replace(atm_vol=atm)

    def _row_w(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Total variance of expiry ``rows[i]`` at ``k[i]``: PCHIP inside the nodes, flat outside."""
        X = self.k_nodes[rows]
        Y = self.w_nodes[rows]
        Dv = self._slopes[rows]
        n_k = X.shape[1]
        kc = np.clip(np.where(np.isfinite(k), k, 0.0), X[:, 0], X[:, -1])
        j = np.clip((X <= kc[:, None]).sum(axis=1) - 1, 0, n_k - 2)
        idx = np.arange(k.size)
        x0, x1 = X[idx, j], X[idx, j + 1]
        y0, y1 = Y[idx, j], Y[idx, j + 1]
        d0, d1 = Dv[idx, j], Dv[idx, j + 1]
        h = x1 - x0
        t = (kc - x0) / h
        t2, t3 = t * t, t * t * t
        return (
            (2 * t3 - 3 * t2 + 1) * y0
            + (t3 - 2 * t2 + t) * h * d0
            + (-2 * t3 + 3 * t2) * y1
            + (t3 - t2) * h * d1
        )


def _check_grid_args(n_k, z_max) -> None:
    if not isinstance(n_k, (int, np.integer)) or isinstance(n_k, bool) or n_k < 2:
        raise ValueError(ERR_N_K.format(value=n_k))
    if not (np.isfinite(z_max) and z_max > 0):
        raise ValueError(ERR_Z_MAX.format(value=z_max))


def _require(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(ERR_COLUMNS.format(missing=missing))


def _expiry_ts(frame: pd.DataFrame):
    for col in ("expiry_ts", "expiry"):
        if col in frame.columns:
            return frame[col].to_numpy()
    return None


def _label(frame: pd.DataFrame, col: str) -> str | None:
    if col not in frame.columns:
        return None
    vals = frame[col].dropna().unique()
    return str(vals[0]) if len(vals) == 1 else None


def _svi_params(frame: pd.DataFrame) -> np.ndarray:
    """Raw SVI parameters ``(n_exp, 5)`` from columns ``a..sigma`` or a ``params`` JSON column."""
    if all(c in frame.columns for c in SVI_COLUMNS):
        return frame[list(SVI_COLUMNS)].to_numpy(dtype=float)
    if "params" in frame.columns:
        parsed = [json.loads(p) if isinstance(p, str) else dict(p) for p in frame["params"]]
        try:
            return np.array([[float(p[c]) for c in SVI_COLUMNS] for p in parsed], dtype=float).reshape(-1, 5)
        except KeyError as exc:
            raise KeyError(f"params JSON lacks raw SVI key {exc}") from None
    raise KeyError(ERR_COLUMNS.format(missing=[c for c in SVI_COLUMNS if c not in frame.columns]))
