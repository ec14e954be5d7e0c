-- Vendor rows exactly as received (all vendor columns as text) plus source_file, source_row, ingested_at, file_hash.
-- requires: raw_option_quotes
CREATE OR REPLACE VIEW raw_option_quotes AS
SELECT * FROM read_parquet('{warehouse}/raw_option_quotes/**/*.parquet', union_by_name = true);
