-- Fitted raw-SVI curve per snapshot x underlying x expiry: atm_vol, atm_slope, rmse_vol, arb_free, params (json).
-- requires: curve_params
CREATE OR REPLACE VIEW curve_params AS
SELECT * FROM read_parquet('{warehouse}/curve_params/**/*.parquet', union_by_name = true);
