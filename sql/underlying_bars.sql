-- Daily bars of each underlying (trade_date x underlying).
-- requires: underlying_bars
CREATE OR REPLACE VIEW underlying_bars AS
SELECT * FROM read_parquet('{warehouse}/underlying_bars/**/*.parquet', union_by_name = true);
