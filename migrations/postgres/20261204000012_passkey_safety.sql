-- A session nobody has signed in to names the address (hashed; an IPv6 /64 as one) that made
-- it, so that each address keeps a bounded number of them (src/http/session.rs).
ALTER TABLE sessions ADD COLUMN anonymous_from TEXT;
CREATE INDEX sessions_anonymous_from ON sessions (anonymous_from);
