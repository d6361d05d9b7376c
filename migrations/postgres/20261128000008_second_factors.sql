-- Two-step sign-in. An authenticator app's secret is sealed under the KEK (bound to its
-- user); a code works once: the last time step used is kept.
CREATE TABLE totp_credentials (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_step  BIGINT NOT NULL DEFAULT 0
);

-- Ten single-use recovery codes per account, stored as peppered hashes.
CREATE TABLE recovery_codes (
    code_hash   TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A client whose users must sign in with two factors (`--require-mfa`).
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
