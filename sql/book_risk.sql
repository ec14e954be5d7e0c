-- Greeks, mark and daily PnL per trade_date x open position (the daily slega history): delta, gamma (spot), vega (per 1.00 vol), theta (per day), slega (per vol point per SD), modified_vega, mark, pnl, all in currency; status 'ok' or why it is not priced.
-- requires: book_risk
CREATE OR REPLACE VIEW book_risk AS
SELECT * FROM read_parquet('{warehouse}/book_risk/**/*.parquet', union_by_name = true);
