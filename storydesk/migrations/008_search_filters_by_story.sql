-- 008: the search filters are kept per story, so an analysis that touched a few stories
-- updates their rows only (rebuilding both tables over the whole store cost most of an
-- incremental run at 10,000 articles). The tables are rebuilt on the next index update.
DROP TABLE search_story;
CREATE TABLE search_story (
    article_id TEXT NOT NULL,
    story_id TEXT NOT NULL,
    PRIMARY KEY (article_id, story_id)
);
CREATE INDEX search_story_story ON search_story(story_id);
DROP TABLE search_entity;
CREATE TABLE search_entity (
    story_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (story_id, entity_id, article_id)
);
CREATE INDEX search_entity_name ON search_entity(name);
CREATE INDEX search_entity_entity ON search_entity(entity_id);
DELETE FROM state WHERE name = 'search.filters';
