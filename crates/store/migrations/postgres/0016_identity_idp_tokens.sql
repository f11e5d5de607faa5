-- Identity-provider tokens of upstream identities, sealed by the server (opaque to SQL).
ALTER TABLE identities ADD COLUMN idp_tokens TEXT;
