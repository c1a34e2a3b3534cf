-- Allowances (基本生活保障): standards, applications (cases) and their steps, the monthly
-- rolls (发放名册) with their lines, changes from the month before and totals, the yearly
-- recipients and budgets. Money is integer 分 (INTEGER); months are 'YYYY-MM' text.

-- A standard version: an amount (or a share of another type's standard) for a type at a
-- division, from a month to a month (NULL: open). Inherited by every division below.
CREATE TABLE allowance_standards (
    id              TEXT PRIMARY KEY,
    type_code       TEXT NOT NULL,
    division_code   TEXT NOT NULL,
    from_month      TEXT NOT NULL,
    to_month        TEXT,
    amount_fen      INTEGER,
    follows_type    TEXT,
    follows_percent INTEGER,
    note            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX allowance_standards_version
    ON allowance_standards (type_code, division_code, from_month);

-- Where an application's or a roll's rows live (its county), by id.
CREATE TABLE allowance_locator (
    id          TEXT PRIMARY KEY,
    county_code TEXT NOT NULL
);

-- An application, and once confirmed the case paid monthly. The bank account is sealed
-- with the field keys like a 身份证号; documents are photo ids of the child.
CREATE TABLE allowance_cases (
    county_code    TEXT NOT NULL,
    id             TEXT NOT NULL,
    child_id       TEXT NOT NULL,
    division_code  TEXT NOT NULL,
    type_code      TEXT NOT NULL,
    status         TEXT NOT NULL,
    sensitive      INTEGER NOT NULL,
    filed_as       TEXT NOT NULL,
    applicant      TEXT NOT NULL DEFAULT '',
    bank_name      TEXT NOT NULL DEFAULT '',
    account_holder TEXT NOT NULL DEFAULT '',
    bank_account   TEXT NOT NULL DEFAULT '',
    account_masked TEXT NOT NULL DEFAULT '',
    documents      TEXT NOT NULL DEFAULT '[]',
    note           TEXT NOT NULL DEFAULT '',
    eligibility    TEXT NOT NULL DEFAULT '',
    filed_by       TEXT NOT NULL,
    filed_by_name  TEXT NOT NULL,
    filed_at       INTEGER NOT NULL,
    confirmed_at   INTEGER,
    start_month    TEXT,
    end_month      TEXT,
    end_cause      TEXT,
    end_on         TEXT,
    end_reason     TEXT NOT NULL DEFAULT '',
    from_case      TEXT,
    -- Past months to settle in the next roll (a start or an end before the latest locked
    -- roll), since when; NULL: nothing to settle.
    reconcile_at   INTEGER,
    version        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX allowance_cases_list ON allowance_cases (county_code, division_code, status, type_code);
CREATE INDEX allowance_cases_child ON allowance_cases (county_code, child_id);
CREATE INDEX allowance_cases_updated ON allowance_cases (county_code, updated_at);
-- One open application or case per child and type.
CREATE UNIQUE INDEX allowance_cases_open ON allowance_cases (county_code, child_id, type_code)
    WHERE status IN ('filed', 'checked', 'confirmed');

-- Every step of a case: filing, 乡镇查验, 县级确认, stop, handover, account, document.
CREATE TABLE allowance_steps (
    county_code TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    step        TEXT NOT NULL,
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (county_code, case_id, seq)
);

-- One roll per county and month: a draft (generated again as often as needed), then
-- locked for good.
CREATE TABLE allowance_rolls (
    county_code    TEXT NOT NULL,
    id             TEXT NOT NULL,
    month          TEXT NOT NULL,
    status         TEXT NOT NULL,
    lines          INTEGER NOT NULL,
    people         INTEGER NOT NULL,
    total_fen      INTEGER NOT NULL,
    regular_fen    INTEGER NOT NULL,
    adjustment_fen INTEGER NOT NULL,
    warnings       TEXT NOT NULL DEFAULT '[]',
    generated_at   INTEGER NOT NULL,
    generated_by   TEXT NOT NULL,
    generation     INTEGER NOT NULL,
    locked_at      INTEGER,
    locked_by      TEXT,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX allowance_rolls_month ON allowance_rolls (county_code, month);

-- A roll's lines: the month's regular payment of a case, or an adjustment for a past
-- month. Name, masked number, account and the sealed copies of the 身份证号 and the
-- account are taken when the roll is generated, so a locked roll never changes.
CREATE TABLE allowance_roll_lines (
    county_code    TEXT NOT NULL,
    roll_id        TEXT NOT NULL,
    line_no        INTEGER NOT NULL,
    case_id        TEXT NOT NULL,
    child_id       TEXT NOT NULL,
    type_code      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    for_month      TEXT NOT NULL,
    amount_fen     INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    division_code  TEXT NOT NULL,
    child_name     TEXT NOT NULL,
    id_masked      TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    bank_name      TEXT NOT NULL,
    account_holder TEXT NOT NULL,
    account_masked TEXT NOT NULL,
    bank_account   TEXT NOT NULL,
    sensitive      INTEGER NOT NULL,
    PRIMARY KEY (county_code, roll_id, line_no)
);
CREATE INDEX allowance_roll_lines_case ON allowance_roll_lines (county_code, case_id);

-- How a roll differs from the month before: new, stopped, amount changed, with reasons.
CREATE TABLE allowance_roll_changes (
    county_code   TEXT NOT NULL,
    roll_id       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    case_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    old_fen       INTEGER NOT NULL,
    new_fen       INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    child_name    TEXT NOT NULL,
    division_code TEXT NOT NULL,
    type_code     TEXT NOT NULL,
    sensitive     INTEGER NOT NULL,
    PRIMARY KEY (county_code, roll_id, seq)
);

-- A roll's sums by village and type (what totals add up).
CREATE TABLE allowance_roll_totals (
    county_code   TEXT NOT NULL,
    roll_id       TEXT NOT NULL,
    division_code TEXT NOT NULL,
    type_code     TEXT NOT NULL,
    month         TEXT NOT NULL,
    people        INTEGER NOT NULL,
    lines         INTEGER NOT NULL,
    amount_fen    INTEGER NOT NULL,
    PRIMARY KEY (county_code, roll_id, division_code, type_code)
);

-- Who was paid what in a year, by type (people covered), added to as rolls are locked.
CREATE TABLE allowance_recipients (
    county_code   TEXT NOT NULL,
    year          INTEGER NOT NULL,
    child_id      TEXT NOT NULL,
    type_code     TEXT NOT NULL,
    division_code TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    PRIMARY KEY (county_code, year, child_id, type_code)
);

-- A county's yearly budget per type: a roll that would exceed it warns before it is locked.
CREATE TABLE allowance_budgets (
    county_code TEXT NOT NULL,
    year        INTEGER NOT NULL,
    type_code   TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (county_code, year, type_code)
);
