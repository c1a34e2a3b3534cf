-- The committee's work: its members, each unit's duties, the plan's tasks and their
-- progress, notices (通报), joint meetings (联席会议). Deadlines, supervision and
-- acknowledgements are work items (work_items), one engine for every module. Dates are
-- 'YYYY-MM-DD' text.
-- Citus: every new table by county_code, with the units.

-- A unit's written duties (部门职责): a JSON list of strings.
ALTER TABLE units ADD COLUMN duties TEXT NOT NULL DEFAULT '[]';

CREATE TABLE committee_members (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- the person's post in their unit (副区长, 局长)
    title       TEXT NOT NULL,
    position    TEXT NOT NULL,
    -- sealed
    phone       TEXT NOT NULL,
    term_from   TEXT NOT NULL,
    term_to     TEXT,
    left_on     TEXT,
    user_id     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX committee_members_unit ON committee_members (county_code, unit_id);

CREATE TABLE plan_tasks (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    year         BIGINT NOT NULL,
    number       TEXT NOT NULL,
    title        TEXT NOT NULL,
    detail       TEXT NOT NULL,
    lead_unit_id TEXT NOT NULL,
    -- JSON list of unit ids
    co_unit_ids  TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    -- open, done
    state        TEXT NOT NULL,
    -- the joint meeting whose resolution it is
    meeting_id   TEXT,
    -- the lead unit's work item
    work_id      TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    done_at      BIGINT,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX plan_tasks_number ON plan_tasks (county_code, year, number);

CREATE TABLE plan_progress (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    note        TEXT NOT NULL,
    done        BOOLEAN NOT NULL,
    by_user     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX plan_progress_task ON plan_progress (county_code, task_id, at);

CREATE TABLE notices (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);

CREATE TABLE joint_meetings (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    held_on     TEXT NOT NULL,
    convener    TEXT NOT NULL,
    -- JSON list of unit ids present
    attendees   TEXT NOT NULL,
    agenda      TEXT NOT NULL,
    minutes     TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX joint_meetings_held ON joint_meetings (county_code, held_on);
