-- 004 (web): the search index (sentences, FTS5, vectors) and watched sources.
-- One row per indexed sentence; span is [start, end) into the article's cleaned text.
CREATE TABLE search_sentences (
    rowid INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector_id INTEGER REFERENCES search_vectors(id),
    UNIQUE (article_id, start)
);
CREATE INDEX search_sentences_article ON search_sentences(article_id);

-- FTS5 over sentence text (external content: the text lives once, in search_sentences).
CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_sentences', content_rowid='rowid',
                                           tokenize='porter unicode61 remove_diacritics 2');

-- Sentence vectors (all-MiniLM-L6-v2, float16), one per distinct normalised sentence.
CREATE TABLE search_vectors (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    vector BLOB NOT NULL
);

-- Which articles are indexed (so an update only embeds what is new).
CREATE TABLE search_articles (
    article_id TEXT PRIMARY KEY,
    sentences INTEGER NOT NULL
);

-- Filters: article -> story, article -> entity; rebuilt when the stage output changes.
CREATE TABLE search_story (
    article_id TEXT NOT NULL,
    story_id TEXT NOT NULL,
    PRIMARY KEY (article_id, story_id)
);
CREATE INDEX search_story_story ON search_story(story_id);
CREATE TABLE search_entity (
    entity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (entity_id, article_id)
);
CREATE INDEX search_entity_name ON search_entity(name);

-- Sources followed by `storydesk watch`: validators for conditional requests and what happened last.
CREATE TABLE watch_sources (
    source TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                         -- url | folder
    etag TEXT,
    last_modified TEXT,
    last_checked TEXT,
    last_status TEXT,                           -- new | unchanged | not_modified | failed | blocked
    last_error TEXT,
    added INTEGER NOT NULL DEFAULT 0,           -- articles added from this source in all
    seen TEXT NOT NULL DEFAULT '{}'             -- folder sources: {path: sha256} already ingested
);
