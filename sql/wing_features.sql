-- Wing-model features: ln(vol(target_sd)/atm_vol), sqrt_bdays, ln_atm_vol, atm_slope per trade_date x underlying x expiry x target_sd (usable, reason).
-- requires: wing_features
CREATE OR REPLACE VIEW wing_features AS
SELECT * FROM read_parquet('{warehouse}/wing_features/**/*.parquet', union_by_name = true);
