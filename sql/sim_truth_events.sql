-- Simulator truth: events such as earnings (underlying, event_date, kind, move).
-- requires: sim_truth_events
CREATE OR REPLACE VIEW sim_truth_events AS
SELECT * FROM read_parquet('{warehouse}/sim_truth_events/**/*.parquet', union_by_name = true);
