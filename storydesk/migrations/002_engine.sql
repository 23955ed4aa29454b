-- 002: the incremental engine. Stage output is keyed by story, so one story's work can be
-- replaced without touching the others; per-article work and sentence vectors are kept
-- between runs; each story remembers the fingerprint of the inputs it was analysed from.
CREATE TABLE records_by_story (
    kind TEXT NOT NULL,
    story_id TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL,
    article_id TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, story_id, id)
);
INSERT INTO records_by_story (kind, story_id, id, article_id, data)
    SELECT kind, COALESCE(story_id, ''), id, article_id, data FROM records;
DROP TABLE records;
ALTER TABLE records_by_story RENAME TO records;
CREATE INDEX records_story ON records(story_id, kind);
CREATE INDEX records_article ON records(kind, article_id);

-- Per-article work (a parsed document, ...), valid while ``version`` matches the code and models.
CREATE TABLE article_work (
    article_id TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    data BLOB,
    PRIMARY KEY (article_id, key)
);

-- Sentence embeddings by model version and normalised text (sha1), float32 little-endian.
CREATE TABLE vectors (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL
);

-- What each story was last analysed from; a story whose fingerprint changed is re-run.
CREATE TABLE story_runs (
    story_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    at TEXT NOT NULL
);
