-- The yearly assessment (考核): a county's scheme for a year (indicators and weights as
-- JSON; absent, the default) and when its result was published, and the office's manual
-- points (tenths of a point) with their reasons. Scores are computed from the records.
-- Citus: both by county_code.

CREATE TABLE assessment_schemes (
    county_code  TEXT NOT NULL,
    year         BIGINT NOT NULL,
    scheme       TEXT NOT NULL,
    published_at BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (county_code, year)
);

CREATE TABLE assessment_points (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    year        BIGINT NOT NULL,
    -- a unit's id or a township's 12-digit code
    subject_id  TEXT NOT NULL,
    tenths      BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX assessment_points_year ON assessment_points (county_code, year);
