-- The children's ledger: records, versions, the platform-wide ID registry, transfers,
-- and local settings (rule parameters with effective dates).
-- Citus: children, child_versions, child_transfers by county_code; child_locator by id;
-- child_id_registry by id_index; settings is a reference table.

-- A user designated to handle 受艾滋病影响儿童 records.
ALTER TABLE users ADD COLUMN designated BOOLEAN NOT NULL DEFAULT FALSE;

-- Local configuration: key, region (12-digit code, '' = national default), from a date.
CREATE TABLE settings (
    key            TEXT NOT NULL,
    region_code    TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    value          TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    updated_by     TEXT NOT NULL,
    PRIMARY KEY (key, region_code, effective_from)
);

CREATE TABLE children (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    division_code TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_initials TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    id_masked     TEXT NOT NULL,
    id_index      TEXT NOT NULL,
    birth_date    DATE NOT NULL,
    sex           TEXT NOT NULL,
    hukou         TEXT NOT NULL,
    school_status TEXT NOT NULL,
    support_bits  BIGINT NOT NULL,
    category_bits BIGINT NOT NULL,
    risk          TEXT NOT NULL,
    sensitive     BOOLEAN NOT NULL,
    director_id   TEXT,
    status        TEXT NOT NULL,
    details       TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
-- Lists walk this index in their default order and stop after a page; it also holds
-- every filtered column, so filters and counts never read the wide rows.
CREATE INDEX children_list ON children (county_code, division_code, name, id, birth_date,
    sensitive, category_bits, risk, sex, school_status, support_bits, name_initials);
-- Search by 身份证号.
CREATE INDEX children_id_index ON children (id_index);

-- Where a child's record lives (its county), by id: lookups by id route to one shard.
CREATE TABLE child_locator (
    id          TEXT PRIMARY KEY,
    county_code TEXT NOT NULL
);

-- One active record per 身份证号 platform-wide, keyed by the number's blind index.
CREATE TABLE child_id_registry (
    id_index    TEXT PRIMARY KEY,
    county_code TEXT NOT NULL,
    child_id    TEXT NOT NULL
);

CREATE TABLE child_versions (
    county_code TEXT NOT NULL,
    child_id    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    changes     TEXT NOT NULL,
    PRIMARY KEY (county_code, child_id, version)
);

CREATE TABLE child_transfers (
    county_code    TEXT NOT NULL,
    id             TEXT NOT NULL,
    child_id       TEXT NOT NULL,
    from_division  TEXT NOT NULL,
    to_division    TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_at   BIGINT NOT NULL,
    decided_by     TEXT,
    decided_at     BIGINT,
    decision_note  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (county_code, id)
);
CREATE INDEX child_transfers_to ON child_transfers (to_division, status);
CREATE INDEX child_transfers_child ON child_transfers (child_id, status);
