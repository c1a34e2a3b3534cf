-- The optional second factor: the TOTP secret (sealed with the field keys), whether it is
-- on (a pending secret is not), and the last step a code was used for (no replays).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
