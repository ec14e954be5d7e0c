-- Edges per trade_date x underlying x edge (wing, vrp, term_structure, skew, event_vol, gamma): fired, strength 0-1, direction, rationale, structure, metrics (json), the day's regime.
-- requires: edge_signals
CREATE OR REPLACE VIEW edge_signals AS
SELECT * FROM read_parquet('{warehouse}/edge_signals/**/*.parquet', union_by_name = true);
