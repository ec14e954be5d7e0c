-- Implied vols per option and snapshot: bid/mid/ask, status, vega, delta, z.
-- requires: strike_vols
CREATE OR REPLACE VIEW strike_vols AS
SELECT * FROM read_parquet('{warehouse}/strike_vols/**/*.parquet', union_by_name = true);
