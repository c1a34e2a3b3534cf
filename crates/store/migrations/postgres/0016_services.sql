-- Purchased services and volunteers (政府购买服务、志愿服务): agencies (each also a unit of
-- the registry, kind 'agency', so work can be referred to it) with their 统一社会信用代码,
-- the county's contracts with them, the social workers and volunteers, and each service
-- given (to a child, or at an activity) in minutes. Money in 分, dates 'YYYY-MM-DD'.
-- Citus: by county_code.

CREATE TABLE service_agencies (
    county_code     TEXT NOT NULL,
    -- the unit's id
    id              TEXT NOT NULL,
    credit_code     TEXT NOT NULL,
    -- why a code failing its check character was kept ('' when it passes)
    override_reason TEXT NOT NULL,
    contact         TEXT NOT NULL,
    phone           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX service_agencies_code ON service_agencies (county_code, credit_code);

CREATE TABLE service_contracts (
    county_code      TEXT NOT NULL,
    id               TEXT NOT NULL,
    agency_id        TEXT NOT NULL,
    project          TEXT NOT NULL,
    amount_fen       BIGINT NOT NULL,
    starts_on        TEXT NOT NULL,
    ends_on          TEXT NOT NULL,
    target_children  BIGINT NOT NULL,
    required_minutes BIGINT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX service_contracts_agency ON service_contracts (county_code, agency_id);

CREATE TABLE service_workers (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    -- social_worker, volunteer
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    qualification TEXT NOT NULL,
    -- NULL for a volunteer of no agency
    agency_id     TEXT,
    active        BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);

CREATE TABLE service_records (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    worker_id     TEXT NOT NULL,
    contract_id   TEXT,
    -- the child served (a ledger child), or the activity served at; one of the two
    child_id      TEXT,
    activity_id   TEXT,
    -- the division the service counts in: the child's village or the activity's division
    division_code TEXT NOT NULL,
    kind          TEXT NOT NULL,
    served_on     TEXT NOT NULL,
    minutes       BIGINT NOT NULL,
    note          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX service_records_contract ON service_records (county_code, contract_id);
CREATE INDEX service_records_served ON service_records (county_code, served_on);
