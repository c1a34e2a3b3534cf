-- Activities (宣传和服务活动): publicity, lectures, training, service projects, visit
-- campaigns, each held by a division's people or a unit, with the people and children
-- reached and the materials handed out; counted by division, unit, kind and period.
-- Files kept on records of the later modules (an activity's photos, a record check's
-- signed consent) are record_files: the bytes in the blob store under the file's id, the
-- name as uploaded sealed, the same bytes once per record. Citus: by county_code.

CREATE TABLE activities (
    county_code      TEXT NOT NULL,
    id               TEXT NOT NULL,
    -- where it was held: the recorder's division (a village, a township, the county)
    division_code    TEXT NOT NULL,
    -- the unit that held it, when a unit's liaison (or the office for a unit) recorded it
    unit_id          TEXT,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL,
    -- 'YYYY-MM-DD'
    held_on          TEXT NOT NULL,
    place            TEXT NOT NULL,
    participants     BIGINT NOT NULL,
    children_reached BIGINT NOT NULL,
    materials        BIGINT NOT NULL,
    summary          TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX activities_held ON activities (county_code, held_on);
CREATE INDEX activities_division ON activities (county_code, division_code, held_on);

CREATE TABLE record_files (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    -- activity, record_check
    owner        TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX record_files_same ON record_files (county_code, owner, owner_id, digest);
