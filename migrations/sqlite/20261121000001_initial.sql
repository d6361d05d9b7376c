-- munjigi schema, SQLite. Times are unix seconds (BIGINT); ids and JSON are TEXT so that
-- one query set serves PostgreSQL and SQLite alike. Booleans are INTEGER 0/1: sqlx's Any
-- driver cannot map SQLite's BOOLEAN type.

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    public_jwk   TEXT NOT NULL,
    -- private half: compact JWE (dir, A256GCM) under the key-encryption key
    private_jwe  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retired_at   BIGINT
);
-- one signing key per algorithm: instances racing at first start converge on one
CREATE UNIQUE INDEX signing_keys_one_active_per_alg ON signing_keys (alg) WHERE state = 'active';

CREATE TABLE clients (
    id                           TEXT PRIMARY KEY,
    name                         TEXT NOT NULL,
    -- HMAC-SHA256 of the secret under the pepper; NULL for public clients
    secret_hash                  TEXT,
    token_endpoint_auth_method   TEXT NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    redirect_uris                TEXT NOT NULL,
    post_logout_redirect_uris    TEXT NOT NULL DEFAULT '[]',
    grant_types                  TEXT NOT NULL,
    scopes                       TEXT NOT NULL,
    skip_consent                 INTEGER NOT NULL DEFAULT 0 CHECK (skip_consent IN (0, 1)),
    id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256',
    backchannel_logout_uri       TEXT,
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    email            TEXT NOT NULL,
    -- lower-cased email: uniqueness is case-insensitive
    email_normalized TEXT NOT NULL UNIQUE,
    email_verified   INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name             TEXT,
    password_hash    TEXT,
    role             TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 of the session id: a leaked table does not hand out live cookies
    id_hash    TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE authorization_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    auth_time             BIGINT NOT NULL,
    amr                   TEXT NOT NULL DEFAULT '[]',
    sid                   TEXT,
    -- tokens issued from this code belong to this grant; a replay revokes them
    grant_id              TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash        TEXT PRIMARY KEY,
    grant_id          TEXT NOT NULL,
    client_id         TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope             TEXT NOT NULL,
    auth_time         BIGINT NOT NULL,
    amr               TEXT NOT NULL DEFAULT '[]',
    sid               TEXT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL,
    rotated_at        BIGINT,
    revoked_at        BIGINT
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);

-- access tokens are JWTs; a grant revoked here makes its tokens inactive until they expire
CREATE TABLE revoked_grants (
    grant_id   TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE federated_identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX federated_identities_user_id ON federated_identities (user_id);
