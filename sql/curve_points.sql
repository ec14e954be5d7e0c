-- Fitted curves at target SDs -3..+3 per snapshot x underlying x expiry: strike and vol.
-- requires: curve_points
CREATE OR REPLACE VIEW curve_points AS
SELECT * FROM read_parquet('{warehouse}/curve_points/**/*.parquet', union_by_name = true);
