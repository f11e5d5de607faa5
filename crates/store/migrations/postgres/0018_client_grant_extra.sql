-- Auth0 properties of a client grant that gatehouse keeps and shows but does not act on
-- (subject_type, authorization_details_types, ...; see docs/stored-not-enforced.md).
ALTER TABLE client_grants ADD COLUMN extra JSONB NOT NULL DEFAULT '{}';
