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
