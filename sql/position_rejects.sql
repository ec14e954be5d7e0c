-- Rejected rows of the book file: source, source_row (1-based data row), position_id, reason (code), detail.
-- requires: position_rejects
CREATE OR REPLACE VIEW position_rejects AS
SELECT * FROM read_parquet('{warehouse}/position_rejects/**/*.parquet', union_by_name = true);
