-- Refresh-token families, so that revoking one is final: a successor inserted by a refresh
-- that was already under way checks (and locks) its family's row in the same transaction,
-- and is refused once the family is revoked.
CREATE TABLE refresh_token_families (
    family_id   TEXT PRIMARY KEY,
    revoked_at  TIMESTAMPTZ
);
-- Families revoked before this table existed: every token of theirs is revoked.
INSERT INTO refresh_token_families (family_id, revoked_at)
SELECT family_id, MIN(revoked_at) FROM refresh_tokens
GROUP BY family_id HAVING COUNT(*) = COUNT(revoked_at);
