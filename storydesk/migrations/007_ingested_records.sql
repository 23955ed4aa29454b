-- 007: archive records already ingested (keyed by WARC-Record-ID and content digest), so that a
-- re-run over a crawl skips them without parsing. Records that failed are not kept: a re-run retries them.
CREATE TABLE ingested_records (
    key TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    article_id TEXT NOT NULL,
    entry INTEGER
);
CREATE INDEX ingested_records_path ON ingested_records(path);
