-- One-to-one pairing (结对帮扶): helpers registered by a level (division_code: where they
-- were registered; available to the divisions below), pairings of a child with a helper
-- for a period (one active pairing a child; ended_at when ended early, with the reason),
-- and the contacts logged (note sealed). last_contact_on and contacts are kept on the
-- pairing for the quarter's lists. Dates are YYYY-MM-DD. Citus: all by county_code.

CREATE TABLE helpers (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    workplace     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    division_code TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);

CREATE TABLE pairings (
    county_code     TEXT NOT NULL,
    id              TEXT NOT NULL,
    child_id        TEXT NOT NULL,
    helper_id       TEXT NOT NULL,
    division_code   TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    ends_on         TEXT,
    ended_at        BIGINT,
    end_reason      TEXT NOT NULL,
    last_contact_on TEXT,
    contacts        BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX pairings_child ON pairings (county_code, child_id);
CREATE INDEX pairings_division ON pairings (county_code, division_code);

CREATE TABLE pairing_contacts (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    pairing_id   TEXT NOT NULL,
    contacted_on TEXT NOT NULL,
    kind         TEXT NOT NULL,
    note         TEXT NOT NULL,
    by_user      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX pairing_contacts_pairing ON pairing_contacts (county_code, pairing_id, contacted_on);
