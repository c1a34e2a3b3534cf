-- Pre-employment record checks (入职查询). record_list is the restricted list: who is on it
-- is sealed in details (name, 身份证号, offence, source) and found only through id_index,
-- the keyed blind index of the 身份证号; no route lists or exports it. record_checks is
-- every question asked and its answer (clear / found), with the asking unit and account;
-- the asked person's name is sealed, the number kept only as its blind index.
-- Citus: by county_code (the list is matched across every county's shards by id_index).

CREATE TABLE record_list (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    id_index    TEXT NOT NULL,
    details     TEXT NOT NULL,
    loaded_by   TEXT NOT NULL,
    loaded_at   INTEGER NOT NULL,
    -- set when an entry is withdrawn (a wrong entry, a record expunged), with the reason
    removed_at  INTEGER,
    removed_why TEXT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX record_list_index ON record_list (id_index);
CREATE UNIQUE INDEX record_list_once ON record_list (county_code, id_index, loaded_at);

CREATE TABLE record_checks (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    number      TEXT NOT NULL,
    -- the asking unit of the registry, or the institution's own account (a reporter
    -- account stands for its school or kindergarten), and its name when it asked
    unit_id     TEXT NOT NULL,
    unit_name   TEXT NOT NULL,
    asked_by    TEXT NOT NULL,
    -- sealed: {name, masked id number}
    details     TEXT NOT NULL,
    id_index    TEXT NOT NULL,
    post        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    -- clear, found
    result      TEXT NOT NULL,
    -- the batch sheet it came in, or NULL for a single question
    batch_id    TEXT,
    -- the person's place in the batch (0 for a single question)
    row_no      INTEGER NOT NULL,
    consent_id  TEXT NOT NULL,
    asked_at    INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX record_checks_number ON record_checks (county_code, number);
CREATE INDEX record_checks_unit ON record_checks (county_code, unit_id, asked_at);
CREATE INDEX record_checks_asker ON record_checks (county_code, asked_by, asked_at);
