-- Named JSON documents (the Authorization Extension's data, Actions), each one row written
-- by compare-and-set on `version`.
CREATE TABLE documents (
    name     TEXT PRIMARY KEY,
    data     TEXT NOT NULL,
    version  INTEGER NOT NULL
);
