-- Clean option quotes: one row per snapshot x contract, end-of-day and intraday snapshots.
-- requires: option_quotes
CREATE OR REPLACE VIEW option_quotes AS
SELECT * FROM read_parquet('{warehouse}/option_quotes/**/*.parquet', union_by_name = true);
