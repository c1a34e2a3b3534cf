-- Reports, referrals and cases, and the machinery later modules share: the registry of
-- units, work items with their deadlines (the inbox), the working-day calendar, events
-- from the ledger and visits, the notification outbox, a timeline of every step, access
-- grants (a member unit reads a child while a referral to it is open) and sealed records.

-- Accounts act for a unit of the registry (a liaison, a reporting institution); the
-- office head approves closures and receives late supervised items.
ALTER TABLE users ADD COLUMN unit_id TEXT;
ALTER TABLE users ADD COLUMN head INTEGER NOT NULL DEFAULT 0;

CREATE TABLE units (
    id            TEXT PRIMARY KEY,
    county_code   TEXT NOT NULL,
    division_code TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- JSON [{name, title, phone}]
    contacts      TEXT NOT NULL,
    -- A 企业微信 or 钉钉 group robot: the kind, and the URL sealed with the field keys.
    webhook_kind  TEXT NOT NULL DEFAULT '',
    webhook_url   TEXT NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX units_name ON units (county_code, name);
CREATE INDEX units_kind ON units (county_code, kind);

-- A year's holidays and make-up working days (调休), as the State Council publishes them.
CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY,
    source    TEXT NOT NULL,
    loaded_at INTEGER NOT NULL,
    loaded_by TEXT NOT NULL
);
CREATE TABLE calendar_days (
    day  TEXT PRIMARY KEY,
    year INTEGER NOT NULL,
    -- 'holiday' or 'workday'
    kind TEXT NOT NULL,
    note TEXT NOT NULL
);

-- Where a report, referral, case, conference or work item lives (its county), by id.
CREATE TABLE locator (
    id          TEXT PRIMARY KEY,
    county_code TEXT NOT NULL,
    kind        TEXT NOT NULL
);

-- Something the ledger or visits tell later modules (a danger found on a visit, a child
-- moving county), written in the same transaction as the change; consumed once.
CREATE TABLE events (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX events_pending ON events (created_at) WHERE consumed_at IS NULL;

-- Who did what to a report, referral or case, when and why.
CREATE TABLE timeline (
    county_code  TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    at           INTEGER NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    actor_unit   TEXT NOT NULL,
    action       TEXT NOT NULL,
    -- sealed: may name people
    detail       TEXT NOT NULL,
    PRIMARY KEY (county_code, subject_id, id)
);

-- Everything someone must do by a date: the inbox, due-soon and overdue lists, digests
-- and (later) assessments are queries over this one table.
CREATE TABLE work_items (
    county_code        TEXT NOT NULL,
    id                 TEXT NOT NULL,
    kind               TEXT NOT NULL,
    subject_kind       TEXT NOT NULL,
    subject_id         TEXT NOT NULL,
    -- No personal data: 紧急报告待确认, 转介待接收 …
    title              TEXT NOT NULL,
    owner_unit_id      TEXT,
    owner_user_id      TEXT,
    urgency            INTEGER NOT NULL,
    due_at             INTEGER,
    due_guessed        INTEGER NOT NULL DEFAULT 0,
    state              TEXT NOT NULL,
    -- 0 none, 1 督办, 2 挂牌督办
    supervision        INTEGER NOT NULL DEFAULT 0,
    supervision_due_at INTEGER,
    supervision_note   TEXT NOT NULL DEFAULT '',
    escalated_at       INTEGER,
    sealed             INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    done_at            INTEGER,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX work_unit_open ON work_items (owner_unit_id, urgency, due_at) WHERE state = 'open';
CREATE INDEX work_user_open ON work_items (owner_user_id, urgency, due_at) WHERE state = 'open';
CREATE INDEX work_county_due ON work_items (county_code, due_at) WHERE state = 'open';
CREATE INDEX work_subject ON work_items (county_code, subject_id);
CREATE INDEX work_supervised ON work_items (county_code, supervision_due_at)
    WHERE state = 'open' AND supervision > 0;

-- Notifications: in the app always, to a unit's group robot when configured. Written in
-- the transaction of the change; a worker delivers webhooks with retries.
CREATE TABLE outbox (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    unit_id      TEXT,
    user_id      TEXT,
    channel      TEXT NOT NULL,
    -- No personal data: 您有 1 条紧急报告待处理
    text         TEXT NOT NULL,
    link         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error   TEXT NOT NULL DEFAULT '',
    read_at      INTEGER,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at IS NULL AND channel = 'webhook';
CREATE INDEX outbox_unit ON outbox (unit_id, created_at) WHERE channel = 'app';
CREATE INDEX outbox_user ON outbox (user_id, created_at) WHERE channel = 'app';
-- What was said about one referral or report, cleared when it is resolved.
CREATE INDEX outbox_link ON outbox (county_code, link);

-- A member unit's reading of a child, opened by a referral and closed some days after it
-- ends (until = NULL while the referral is open).
CREATE TABLE access_grants (
    county_code TEXT NOT NULL,
    child_id    TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    until_ms    INTEGER,
    PRIMARY KEY (county_code, child_id, unit_id, source_id)
);
CREATE INDEX access_grants_unit ON access_grants (unit_id, county_code);

CREATE TABLE reports (
    county_code     TEXT NOT NULL,
    id              TEXT NOT NULL,
    number          TEXT NOT NULL,
    channel         TEXT NOT NULL,
    situations      TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    state           TEXT NOT NULL,
    division_code   TEXT NOT NULL,
    child_id        TEXT,
    -- Sealed JSON {reporter (confidential), child (what is known of a child not linked
    -- to the ledger), description, place}.
    details         TEXT NOT NULL,
    discovered_at   INTEGER NOT NULL,
    reported_at     INTEGER NOT NULL,
    filed_by        TEXT,
    filed_unit_id   TEXT,
    visit_id        TEXT,
    hotline_order   TEXT,
    hotline_due_at  INTEGER,
    sealed          INTEGER NOT NULL,
    merged_into     TEXT,
    -- The reply shown to the reporter (and by tracking code to the public).
    reply           TEXT NOT NULL DEFAULT '',
    replied_at      INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX reports_number ON reports (county_code, number);
CREATE UNIQUE INDEX reports_hotline ON reports (county_code, hotline_order) WHERE hotline_order IS NOT NULL;
CREATE UNIQUE INDEX reports_visit ON reports (county_code, visit_id) WHERE visit_id IS NOT NULL;
CREATE INDEX reports_child ON reports (county_code, child_id) WHERE child_id IS NOT NULL;
CREATE INDEX reports_list ON reports (county_code, division_code, created_at);
CREATE INDEX reports_filed_by ON reports (filed_by, created_at) WHERE filed_by IS NOT NULL;

-- The public page's tracking codes, by the code's hash.
CREATE TABLE report_tracking (
    hash        TEXT PRIMARY KEY,
    county_code TEXT NOT NULL,
    report_id   TEXT NOT NULL
);

CREATE TABLE referrals (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    report_id    TEXT,
    case_id      TEXT,
    child_id     TEXT,
    from_unit_id TEXT NOT NULL,
    to_unit_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    -- Sealed JSON {note (why it was referred), consent, reply, closed_reason}.
    details      TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    reply_due_at INTEGER,
    replied_at   INTEGER,
    forwarded_to TEXT,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX referrals_report ON referrals (county_code, report_id);
CREATE INDEX referrals_case ON referrals (county_code, case_id);
CREATE INDEX referrals_to ON referrals (to_unit_id, state, created_at);

-- One acceptance per referral: two liaisons accepting at once make one row.
CREATE TABLE referral_acceptances (
    county_code TEXT NOT NULL,
    referral_id TEXT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (county_code, referral_id)
);

CREATE TABLE cases (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    number       TEXT NOT NULL,
    report_id    TEXT,
    child_id     TEXT,
    visit_id     TEXT,
    division_code TEXT NOT NULL,
    state        TEXT NOT NULL,
    lead_unit_id TEXT NOT NULL,
    -- Sealed JSON {assessment (调查评估), reply (the handling reply)}.
    details      TEXT NOT NULL,
    assessed_at  INTEGER,
    replied_at   INTEGER,
    sealed       INTEGER NOT NULL,
    opened_by    TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    closed_at    INTEGER,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX cases_number ON cases (county_code, number);
CREATE INDEX cases_child ON cases (county_code, child_id) WHERE child_id IS NOT NULL;
CREATE INDEX cases_report ON cases (county_code, report_id) WHERE report_id IS NOT NULL;
CREATE INDEX cases_list ON cases (county_code, state, opened_at);

CREATE TABLE case_measures (
    county_code TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    taken_on    TEXT NOT NULL,
    unit_id     TEXT,
    -- Sealed
    detail      TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (county_code, case_id, id)
);

-- 个案会商: who met, what they saw and decided; each decision becomes a case task.
CREATE TABLE case_conferences (
    county_code         TEXT NOT NULL,
    id                  TEXT NOT NULL,
    case_id             TEXT NOT NULL,
    held_on             TEXT NOT NULL,
    convening_unit_id   TEXT NOT NULL,
    -- Sealed JSON {units, people, facts, minutes, decisions}
    record              TEXT NOT NULL,
    recorded_by         TEXT NOT NULL,
    recorded_at         INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX case_conferences_case ON case_conferences (county_code, case_id);

-- Named readers of sealed records in a county, and time-limited grants asked for with a
-- reason and given by the office.
CREATE TABLE sealed_readers (
    county_code TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    named_by    TEXT NOT NULL,
    named_at    INTEGER NOT NULL,
    PRIMARY KEY (county_code, user_id)
);
CREATE TABLE sealed_access (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    decided_by   TEXT,
    decided_at   INTEGER,
    granted      INTEGER,
    until_ms     INTEGER,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX sealed_access_user ON sealed_access (county_code, user_id, subject_id);
