-- Foundation: divisions, users, sessions, stations, the audit chain.
-- Times are unix milliseconds (UTC); division codes are 12-digit text.
-- Citus: divisions and users are reference tables; stations, audit_log and audit_heads are
-- distributed by county_code; sessions by id_hash.

CREATE TABLE divisions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       INTEGER NOT NULL,
    parent_code TEXT,
    updated_at  BIGINT NOT NULL
);
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
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    password_changed_at  BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX users_division ON users (division_code);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE stations (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions (code),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX stations_division ON stations (county_code, division_code);

CREATE TABLE audit_log (
    county_code TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
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
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
