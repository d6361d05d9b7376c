-- Passkeys (WebAuthn credentials): a second factor, or a sign-in of their own. Only public
-- keys are kept.
CREATE TABLE passkeys (
    -- base64url of the credential id the authenticator chose
    credential_id  TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- the WebAuthn user handle (a UUID) the authenticator returns with a discoverable passkey
    user_handle    TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- the credential as webauthn-rs keeps it (JSON: public key, counter, flags)
    passkey        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE INDEX passkeys_handle ON passkeys (user_handle);
