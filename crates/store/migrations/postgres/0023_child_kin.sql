-- What a department's list is matched against, kept beside each ledger record on every
-- write (create, import, update, transfer, re-keying): the child's name, village, blind
-- index, school status and support as the record has them, whether a disability is
-- recorded, the parents' situations, and the blind indexes of the guardians whose
-- 身份证号 the record holds ("relation<TAB>index" lines). Nothing here is readable
-- without the index key that the registry's blind index already needs; matching a
-- county's million children reads this table and never opens a sealed record. A record
-- written before this table existed gets its row the first time its county is matched.
-- Citus: by county_code, with the children.

CREATE TABLE child_kin (
    county_code   TEXT NOT NULL,
    child_id      TEXT NOT NULL,
    division_code TEXT NOT NULL,
    name          TEXT NOT NULL,
    id_index      TEXT NOT NULL,
    school_status TEXT NOT NULL,
    support_bits  BIGINT NOT NULL,
    disabled      BOOLEAN NOT NULL,
    father        TEXT NOT NULL,
    mother        TEXT NOT NULL,
    kin           TEXT NOT NULL,
    PRIMARY KEY (county_code, child_id)
);
