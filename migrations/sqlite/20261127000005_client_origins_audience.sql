-- Per-client browser origins allowed to call the token, userinfo, revocation and
-- introspection endpoints (CORS), and the audiences its access tokens are issued for
-- (RFC 8707 resources). Both JSON arrays, like the other client lists.
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN access_token_audience TEXT NOT NULL DEFAULT '[]';
