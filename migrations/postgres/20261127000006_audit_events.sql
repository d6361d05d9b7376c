-- Security-relevant events (sign-ins, lockouts, consent, tokens, logout, admin changes), kept
-- for audit_retention_days. No foreign keys: an event outlives the user or client it names.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    client_id   TEXT,
    ip          TEXT,
    -- JSON object: what else the event says (method, attempted login, grant type, ...).
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
CREATE INDEX audit_events_client ON audit_events (client_id, at);
