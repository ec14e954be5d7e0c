-- The wing model's smile per snapshot x underlying x expiry as a curve (model 'theo', params json), butterfly-checked.
-- requires: theo_curves
CREATE OR REPLACE VIEW theo_curves AS
SELECT * FROM read_parquet('{warehouse}/theo_curves/**/*.parquet', union_by_name = true);
