-- Rejected raw rows with a reason code (see volmachine_core/market/schema.py ReasonCode) and detail.
-- requires: quote_quarantine
CREATE OR REPLACE VIEW quote_quarantine AS
SELECT * FROM read_parquet('{warehouse}/quote_quarantine/**/*.parquet', union_by_name = true);
