-- Legs of each candidate: option, signed quantity per structure unit, price paid (bid/ask), theo under the edge's vol view (dv), vega, delta, slega.
-- requires: candidate_legs
CREATE OR REPLACE VIEW candidate_legs AS
SELECT * FROM read_parquet('{warehouse}/candidate_legs/**/*.parquet', union_by_name = true);
