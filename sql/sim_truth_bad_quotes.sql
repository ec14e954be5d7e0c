-- Simulator truth: quote rows made bad on purpose, with their kind.
-- requires: sim_truth_bad_quotes
CREATE OR REPLACE VIEW sim_truth_bad_quotes AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_bad_quotes/**/*.parquet', union_by_name = true);
