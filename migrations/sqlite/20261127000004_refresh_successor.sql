-- The token a rotation issued: within the grace window a rotated token may be presented again
-- only while that successor is unused. (Timestamps in whole seconds could not tell a
-- successor from a predecessor when a client rotates several times a second.)
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;
