-- One-time links mailed to people: confirming an address, resetting a password. Only the
-- SHA-256 of a link's token is kept; a link is used at most once and expires.
CREATE TABLE account_tokens (
    token_hash  TEXT PRIMARY KEY,
    -- 'verify_email' or 'reset_password'
    purpose     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The address the link was sent to: a verification confirms this address only.
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
