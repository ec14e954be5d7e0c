-- Candidate structures per trade_date x underlying before sizing: source edge, structure, expiry, theo_ev, structure bid/ask/mid/theo, max_loss, max_profit, breakevens (json), defined_risk; prices per unit of underlying for one structure unit.
-- requires: trade_candidates
CREATE OR REPLACE VIEW trade_candidates AS
SELECT * FROM read_parquet('{warehouse}/trade_candidates/**/*.parquet', union_by_name = true);
