-- Simulator truth: forward and discount factor per simulated snapshot x underlying x expiry.
-- requires: sim_truth_forwards
CREATE OR REPLACE VIEW sim_truth_forwards AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_forwards/**/*.parquet', union_by_name = true);
