-- The ledger's counters (台账统计): how many children of each village count in each tile
-- (stats/ledger.rs says which), kept in the transaction of every write that changes a
-- counted column, for the day and rules in stat_clocks. level 0 rows are per village (the
-- record's division_code), level 1 rows the county's sum, so that a province adds a
-- hundred counties' rows rather than every village's. Sensitive records count apart:
-- a reader who may not see them gets the figures without them.
-- A county without a clock row, or whose clock is for another day or other rules, has its
-- counters rebuilt from the records before they are read or changed.
-- Citus: by county_code, with the children.

CREATE TABLE stat_clocks (
    county_code TEXT NOT NULL PRIMARY KEY,
    as_of       TEXT NOT NULL,
    rules       TEXT NOT NULL
);

CREATE TABLE child_counts (
    county_code   TEXT NOT NULL,
    level         INTEGER NOT NULL,
    division_code TEXT NOT NULL,
    sensitive     BOOLEAN NOT NULL,
    figure        TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (county_code, level, division_code, sensitive, figure)
);

-- Visits made per county and Beijing day, kept with every visit written, corrected or
-- moved with its child, so that a county's or a province's visits of a period add a few
-- hundred rows instead of counting millions of visits. Filled here from the visits made
-- so far.
CREATE TABLE visit_days (
    county_code TEXT NOT NULL,
    day         TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (county_code, day)
);
INSERT INTO visit_days (county_code, day, n)
SELECT county_code, date(visited_at / 1000 + 28800, 'unixepoch'), COUNT(*)
FROM visits GROUP BY 1, 2;
