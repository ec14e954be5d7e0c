"""volmachine_core: the pure options-volatility library behind volmachine.

No Dagster, no I/O of its own: every function takes arrays or DataFrames and returns new ones.
Conventions (one meaning everywhere): vols are decimals (0.20 = 20%), ``tau`` is ACT/365 years,
rates are continuously compounded, money is per unit of underlying unless a name says ``per_contract``.
"""

__version__ = "0.1.0"
