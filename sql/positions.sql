-- The book held: validated positions from config/positions.csv (legs or OCC symbols), one row per position: position_id, underlying, expiry, strike, right, quantity (signed contracts), entry_price, open_date, multiplier, source.
-- requires: positions
CREATE OR REPLACE VIEW positions AS
SELECT * FROM read_parquet('{warehouse}/positions/**/*.parquet', union_by_name = true);
