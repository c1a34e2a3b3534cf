-- Phones that hold a worklist for offline visits (离线探访): whose, since when, when they
-- last synced and how many children they hold; revoked by the office or wiped at sign-out.
-- The key that encrypts what a phone keeps is handed out once and not stored here.
-- Citus: a reference table (a row per phone, written at each sync).
CREATE TABLE offline_devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    county_code   TEXT NOT NULL,
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_sync_at  BIGINT NOT NULL,
    children      BIGINT NOT NULL DEFAULT 0,
    revoked_at    BIGINT,
    wiped_at      BIGINT
);
CREATE INDEX offline_devices_user ON offline_devices (user_id);
