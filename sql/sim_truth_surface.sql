-- Simulator truth: implied-surface parameters (JSON) per simulated snapshot x underlying x expiry.
-- requires: sim_truth_surface
CREATE OR REPLACE VIEW sim_truth_surface AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_surface/**/*.parquet', union_by_name = true);
