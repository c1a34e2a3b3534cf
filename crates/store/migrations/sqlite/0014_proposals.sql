-- Proposals from the people's congress and the CPPCC (建议提案办理): the proposal as
-- assigned, its lead and co-units, where its handling stands, and each step (a co-unit's
-- opinion, the reply, the review, the rating) in proposal_steps. The reply's deadline and
-- its supervision are the lead unit's work item (work_items), like every deadline.
-- Dates are 'YYYY-MM-DD' text. Citus: by county_code.

CREATE TABLE proposals (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    -- suggestion (人大代表建议), proposal (政协提案)
    kind         TEXT NOT NULL,
    year         INTEGER NOT NULL,
    session      TEXT NOT NULL,
    number       TEXT NOT NULL,
    category     TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    proposer     TEXT NOT NULL,
    -- JSON list of names
    co_signers   TEXT NOT NULL,
    key_item     BOOLEAN NOT NULL,
    assigned_on  TEXT NOT NULL,
    -- 督办部门及领导, as written
    supervisor   TEXT NOT NULL,
    lead_unit_id TEXT NOT NULL,
    -- JSON list of unit ids
    co_unit_ids  TEXT NOT NULL,
    -- assigned, replied, returned, passed, rated, reopened
    state        TEXT NOT NULL,
    -- the last reply: A, B, C
    class        TEXT,
    reply        TEXT NOT NULL,
    replied_at   INTEGER,
    -- satisfied, basic, dissatisfied: the last rating
    satisfaction TEXT,
    -- the lead unit's open work item (the reply due), or its last one
    work_id      TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX proposals_number ON proposals (county_code, year, kind, number);

CREATE TABLE proposal_steps (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    proposal_id  TEXT NOT NULL,
    -- opinion, reply, passed, returned, rated
    step         TEXT NOT NULL,
    unit_id      TEXT,
    class        TEXT,
    satisfaction TEXT,
    note         TEXT NOT NULL,
    by_user      TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX proposal_steps_proposal ON proposal_steps (county_code, proposal_id, at);
