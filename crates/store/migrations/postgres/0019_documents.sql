-- Named JSON documents (the Authorization Extension's data, Actions), each one row written
-- by compare-and-set on `version`.
CREATE TABLE documents (
    name     TEXT PRIMARY KEY,
    data     JSONB NOT NULL,
    version  BIGINT NOT NULL
);
