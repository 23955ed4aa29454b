-- 007: archive records already ingested (keyed by WARC-Record-ID and content digest), so that a
-- re-run over a crawl skips them without parsing; status is added | present | failed.
CREATE TABLE ingested_records (
    key TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    article_id TEXT,
    entry INTEGER
);
CREATE INDEX ingested_records_path ON ingested_records(path);
