-- Wing regression per fit_date x underlying x target_sd: coefficients b_*, standard errors se_*, r2, n_obs, window_start..window_end (< fit_date), model_id.
-- requires: wing_model
CREATE OR REPLACE VIEW wing_model AS
SELECT * FROM read_parquet('{warehouse}/wing_model/**/*.parquet', union_by_name = true);
