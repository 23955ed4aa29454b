-- 001: articles, their raw inputs, the ingest log, and generic stage output.
CREATE TABLE raw_inputs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE articles (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,      -- arrival order
    id TEXT NOT NULL UNIQUE,
    raw_sha256 TEXT REFERENCES raw_inputs(sha256),
    published TEXT,
    outlet TEXT,
    title TEXT,
    data TEXT NOT NULL                          -- Article.to_dict() as JSON
);
CREATE INDEX articles_published ON articles(published);

CREATE TABLE ingest_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    entry INTEGER,
    status TEXT NOT NULL,                       -- added | present | failed | skipped
    article_id TEXT,
    reason TEXT,
    at TEXT NOT NULL
);

-- Output of pipeline stages, one row per record; kind names the record type.
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    story_id TEXT,
    article_id TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_story ON records(kind, story_id);
CREATE INDEX records_article ON records(kind, article_id);

-- Persistent state of incremental stages (indexes, counters), as opaque blobs.
CREATE TABLE state (
    name TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
