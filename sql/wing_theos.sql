-- Per option and snapshot: market_vol, model_vol, residual, half_spread_vol, pnl_theo (buyer, per contract), delta, atm_hedge_ratio, hedge_delta, slega.
-- requires: wing_theos
CREATE OR REPLACE VIEW wing_theos AS
SELECT * FROM read_parquet('{warehouse}/wing_theos/**/*.parquet', union_by_name = true);
