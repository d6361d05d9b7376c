-- A per-account not-before for access tokens, as a counter rather than a time: disabling,
-- deleting, a password reset or change and "end all sessions" raise it, and every access
-- token of the account carries the value it was issued under. A token whose value is lower
-- is refused, even one issued in the same second as the change (JWT times are whole seconds).
ALTER TABLE users ADD COLUMN access_epoch BIGINT NOT NULL DEFAULT 0;
