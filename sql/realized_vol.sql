-- Realised vol per trade_date x underlying: close, log return, rv_cc, rv_parkinson, rv_yz (annualised decimals, trailing 20 sessions), n_obs.
-- requires: realized_vol
CREATE OR REPLACE VIEW realized_vol AS
SELECT * FROM read_parquet('{warehouse}/realized_vol/**/*.parquet', union_by_name = true);
