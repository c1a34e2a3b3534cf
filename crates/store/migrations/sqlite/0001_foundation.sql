-- Foundation: divisions, users, sessions, stations, the audit chain.
-- Times are unix milliseconds (UTC); division codes are 12-digit text.

CREATE TABLE divisions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       INTEGER NOT NULL,
    parent_code TEXT,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX divisions_parent ON divisions (parent_code, code);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    division_code        TEXT NOT NULL REFERENCES divisions (code),
    unit                 TEXT,
    phone                TEXT,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    password_changed_at  INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    disabled             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_division ON users (division_code);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- 未成年人保护工作站, one per township.
CREATE TABLE stations (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions (code),
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX stations_division ON stations (county_code, division_code);

-- One SM3 hash chain per county so that a province does not serialise on one chain.
CREATE TABLE audit_log (
    county_code TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    ip          TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (county_code, seq)
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE audit_heads (
    county_code TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
