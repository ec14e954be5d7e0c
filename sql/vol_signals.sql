-- Curve signals per trade_date x underlying: constant-maturity ATM vols iv_30d/iv_90d/iv_180d and the 30-day 25-delta put/call vols and skew ((put - call) / ATM).
-- requires: vol_signals
CREATE OR REPLACE VIEW vol_signals AS
SELECT * FROM read_parquet('{warehouse}/vol_signals/**/*.parquet', union_by_name = true);
