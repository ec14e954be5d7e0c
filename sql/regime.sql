-- Market regime per trade_date x underlying: regime (held, with hysteresis), confidence, raw_regime of the day, pending switch, deciding features and features (json).
-- requires: regime
CREATE OR REPLACE VIEW regime AS
SELECT * FROM read_parquet('{warehouse}/regime/**/*.parquet', union_by_name = true);
