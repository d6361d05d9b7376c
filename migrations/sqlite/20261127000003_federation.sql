-- Upstream sign-in (federation): the provider a sign-in came through travels with the code and
-- the refresh token, so every id_token of the grant names it (`idp`).
ALTER TABLE authorization_codes ADD COLUMN idp TEXT;
ALTER TABLE refresh_tokens ADD COLUMN idp TEXT;

-- One account per provider and person: a second Google account cannot be linked beside the
-- first (unlink it first), so "unlink Google" always means one identity.
CREATE UNIQUE INDEX federated_identities_one_per_provider ON federated_identities (user_id, provider);

-- Google's hosted domain (`hd`) of a Workspace account, kept as the provider gave it.
ALTER TABLE federated_identities ADD COLUMN hd TEXT;

-- Usernames are unique regardless of case ("Alice" and "alice" are one name), and looked up
-- through this index.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

-- Whose sign-in a session holds, so disabling an account or changing its password can end
-- every session of it at once.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Failed sign-ins per account and per client address, shared by every instance, so the
-- lockout holds however many instances share the load.
CREATE TABLE login_failures (
    subject      TEXT PRIMARY KEY,
    count        BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
