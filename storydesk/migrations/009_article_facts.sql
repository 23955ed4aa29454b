-- 009: per-article facts kept between runs (name mentions, time expressions, figures):
-- each a pure function of an article's text (and parse) and of the rules that made it,
-- stored under a digest of all of these, so a story re-run reads its old articles' facts
-- instead of computing them again. A changed rule set or model gives new keys.
CREATE TABLE article_facts (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
