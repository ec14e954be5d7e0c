"""Pricing benchmarks: numpy Black-76 price and greeks, numba implied vol, QuantLib as the yardstick.

Run: ``.venv/bin/python benchmarks/bench_pricing.py [--n 1000000] [--ql-n 50000] [--threads N]``.
Prints a table of absolute rates (options per second) and the ratios the pricing issue asks for:
implied vol >= 5x QuantLib's ``blackFormulaImpliedStdDev`` loop, implied vol <= 3 price
evaluations, all seven greeks <= 5 price evaluations. Also measures the JIT cold start in fresh
interpreters with the numba cache cold and warm.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import QuantLib as ql  # noqa: N813 (the conventional alias)
from _timing import best_of

from volmachine_core.pricing import black76_greeks, black76_price, implied_vol

REPO = Path(__file__).resolve().parents[1]


def mixed_options(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """1h..3y, vols 3%..200%, strikes within +-4 sd (0.08F..12F), calls and puts, rates -1%..8%."""
    rng = np.random.default_rng(seed)
    F = 100.0 * np.exp(rng.uniform(-1.0, 1.0, n))
    tau = np.exp(rng.uniform(np.log(1.0 / 8760.0), np.log(3.0), n))
    sigma = np.exp(rng.uniform(np.log(0.03), np.log(2.0), n))
    K = F * np.clip(np.exp(rng.uniform(-4.0, 4.0, n) * sigma * np.sqrt(tau)), 0.08, 12.0)
    D = np.exp(-rng.uniform(-0.01, 0.08, n) * tau)
    is_call = rng.random(n) < 0.5
    return F, K, tau, sigma, D, is_call



def quantlib_iv_loop(price, F, K, tau, D, is_call) -> None:
    call, put = ql.Option.Call, ql.Option.Put
    for p, f, k, d, c in zip(
        price.tolist(), F.tolist(), K.tolist(), D.tolist(), is_call.tolist(), strict=False
    ):
        try:
            ql.blackFormulaImpliedStdDev(call if c else put, k, f, p, d)
        except RuntimeError:
            pass


COLD_START_SNIPPET = """
import time
t0 = time.perf_counter()
from volmachine_core.pricing import implied_vol
t1 = time.perf_counter()
implied_vol(5.0, 100.0, 100.0, 1.0, 1.0, True)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def cold_start(clear_cache: bool) -> tuple[float, float]:
    """(import seconds, first-call seconds) in a fresh interpreter."""
    if clear_cache:
        cache = REPO / "volmachine_core" / "pricing" / "__pycache__"
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink()
    out = subprocess.run(
        [sys.executable, "-c", COLD_START_SNIPPET], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--ql-n", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: env or all)")
    parser.add_argument("--skip-cold-start", action="store_true")
    args = parser.parse_args()

    F, K, tau, sigma, D, is_call = mixed_options(args.n)
    price = black76_price(F, K, tau, sigma, D, is_call)
    implied_vol(price[:10], F[:10], K[:10], tau[:10], D[:10], is_call[:10], num_threads=args.threads)  # JIT

    t_price = best_of(lambda: black76_price(F, K, tau, sigma, D, is_call))
    t_greeks = best_of(lambda: black76_greeks(F, K, tau, sigma, D, is_call))
    t_iv = best_of(lambda: implied_vol(price, F, K, tau, D, is_call, num_threads=args.threads))
    t_iv1 = best_of(lambda: implied_vol(price, F, K, tau, D, is_call, num_threads=1), repeat=3)
    m = min(args.ql_n, args.n)
    t_ql = best_of(lambda: quantlib_iv_loop(price[:m], F[:m], K[:m], tau[:m], D[:m], is_call[:m]), repeat=2)
    t_ql_scaled = t_ql * args.n / m

    rate = lambda t: args.n / t  # noqa: E731
    rows = [
        ("black76_price (numpy)", t_price, rate(t_price), 1.0),
        ("black76_greeks, all 7 (numpy)", t_greeks, rate(t_greeks), t_greeks / t_price),
        ("implied_vol (numba, default threads)", t_iv, rate(t_iv), t_iv / t_price),
        ("implied_vol (numba, 1 thread)", t_iv1, rate(t_iv1), t_iv1 / t_price),
        (
            f"QuantLib blackFormulaImpliedStdDev loop (x{args.n / m:.0f} of {m})",
            t_ql_scaled,
            rate(t_ql_scaled),
            t_ql_scaled / t_price,
        ),
    ]
    print(
        f"{args.n:,} mixed options, {os.cpu_count()} cores, numpy {np.__version__}, QuantLib {ql.__version__}"
    )
    print(f"{'routine':<58}{'seconds':>10}{'options/s':>14}{'x price':>10}")
    for name, t, r, x in rows:
        print(f"{name:<58}{t:>10.4f}{r:>14,.0f}{x:>10.2f}")
    print()
    checks = [
        ("implied vol speed-up vs QuantLib loop (>= 5)", t_ql_scaled / t_iv, t_ql_scaled / t_iv >= 5.0),
        ("implied vol cost in price evaluations (<= 3)", t_iv / t_price, t_iv / t_price <= 3.0),
        ("seven greeks cost in price evaluations (<= 5)", t_greeks / t_price, t_greeks / t_price <= 5.0),
    ]
    for name, value, ok in checks:
        print(f"{name:<58}{value:>10.2f}  {'ok' if ok else 'MISSED'}")

    if not args.skip_cold_start:
        cold = cold_start(clear_cache=True)
        warm = cold_start(clear_cache=False)
        print()
        print(f"{'cold start (fresh interpreter)':<40}{'import s':>10}{'first call s':>14}")
        print(f"{'numba cache cold (compiles)':<40}{cold[0]:>10.3f}{cold[1]:>14.3f}")
        print(f"{'numba cache warm (loads)':<40}{warm[0]:>10.3f}{warm[1]:>14.3f}")


if __name__ == "__main__":
    main()
