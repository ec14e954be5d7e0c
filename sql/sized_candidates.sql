-- Sized candidates with verdicts: candidate_id, trade_date, underlying, structure, legs (json), limit_price, max_loss and theo_ev (per unit of underlying for one structure unit), contracts, utility, marginal_utility (currency), verdict, verdict_reasons, rules (json: every rule with value and limit), order (json), lineage (json).
-- requires: sized_candidates
CREATE OR REPLACE VIEW sized_candidates AS
SELECT * FROM read_parquet('{warehouse}/sized_candidates/**/*.parquet', union_by_name = true);
