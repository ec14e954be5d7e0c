-- Simulator truth: market regime per trade_date x underlying.
-- requires: sim_truth_regimes
CREATE OR REPLACE VIEW sim_truth_regimes AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_regimes/**/*.parquet', union_by_name = true);
