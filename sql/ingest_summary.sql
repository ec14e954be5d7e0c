-- Per source file: raw rows, clean rows, quarantined rows and whether every raw row is accounted for.
-- requires: raw_option_quotes option_quotes quote_quarantine
CREATE OR REPLACE VIEW ingest_summary AS
WITH r AS (SELECT source_file, count(*) AS raw_rows, min(ingested_at) AS ingested_at
           FROM raw_option_quotes GROUP BY source_file),
     c AS (SELECT source_file, count(*) AS clean_rows FROM option_quotes GROUP BY source_file),
     q AS (SELECT source_file, count(*) AS quarantined_rows FROM quote_quarantine GROUP BY source_file)
SELECT r.source_file, r.ingested_at, r.raw_rows,
       coalesce(c.clean_rows, 0) AS clean_rows,
       coalesce(q.quarantined_rows, 0) AS quarantined_rows,
       r.raw_rows = coalesce(c.clean_rows, 0) + coalesce(q.quarantined_rows, 0) AS conserved
FROM r LEFT JOIN c USING (source_file) LEFT JOIN q USING (source_file);
