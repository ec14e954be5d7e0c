-- Forwards and discount factors per snapshot x underlying x expiry (put-call parity, rate curve smoothed).
-- requires: forwards
CREATE OR REPLACE VIEW forwards AS
SELECT * FROM read_parquet('{warehouse}/forwards/**/*.parquet', union_by_name = true);
