-- Simulator truth: planted vol bumps (trade_date, underlying, expiry, target_sd, vol_shift).
-- requires: sim_truth_mispricings
CREATE OR REPLACE VIEW sim_truth_mispricings AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_mispricings/**/*.parquet', union_by_name = true);
