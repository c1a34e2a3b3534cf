-- The optional second factor: the TOTP secret (sealed with the field keys), whether it is
-- on (a pending secret is not), and the last step a code was used for (no replays).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
