-- 003 (harden): mark the file as a storydesk store, so another program's SQLite file is told apart.
PRAGMA application_id = 1398031449;
