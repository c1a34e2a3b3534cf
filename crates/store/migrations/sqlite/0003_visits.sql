-- Home visits (入户探访): each child's schedule, the QR cards, visits and their versions,
-- photos, idempotency keys of submissions, and alerts raised by findings of danger.

-- The schedule lives on the child's row so that worklists read one index.
ALTER TABLE children ADD COLUMN due_on TEXT NOT NULL DEFAULT '';
ALTER TABLE children ADD COLUMN due_reason TEXT NOT NULL DEFAULT 'first';
ALTER TABLE children ADD COLUMN last_visit_on TEXT;
ALTER TABLE children ADD COLUMN last_visit_danger INTEGER NOT NULL DEFAULT 0;
ALTER TABLE children ADD COLUMN planned_on TEXT;
-- The token of the child's current card (NULL until the first card is printed).
ALTER TABLE children ADD COLUMN card_token TEXT;
-- Records registered before visits existed: a first visit within 7 days of today's upgrade.
UPDATE children SET due_on = date('now', '+8 hours', '+7 days');
-- Worklists of a village or township (by division, then due date) and of a county (by due
-- date); both hold every column the worklist filters on, so counts never read the rows.
CREATE INDEX children_due ON children (county_code, division_code, due_on, birth_date, sensitive);
CREATE INDEX children_due_order ON children (county_code, due_on, division_code, birth_date, sensitive);

-- Every card ever issued, by its token (what the QR code carries).
CREATE TABLE cards (
    token       TEXT PRIMARY KEY,
    county_code TEXT NOT NULL,
    child_id    TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    issued_by   TEXT NOT NULL,
    revoked_at  INTEGER,
    revoked_why TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cards_child ON cards (child_id);

CREATE TABLE visits (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    child_id      TEXT NOT NULL,
    division_code TEXT NOT NULL,
    author_id     TEXT NOT NULL,
    author_name   TEXT NOT NULL,
    visited_at    INTEGER NOT NULL,
    method        TEXT NOT NULL,
    danger        INTEGER NOT NULL,
    risk_after    TEXT NOT NULL,
    details       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX visits_child ON visits (county_code, child_id, visited_at);
CREATE INDEX visits_division ON visits (county_code, division_code, visited_at);

CREATE TABLE visit_versions (
    county_code TEXT NOT NULL,
    visit_id    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    details     TEXT NOT NULL,
    PRIMARY KEY (county_code, visit_id, version)
);

-- Photo metadata; the bytes live in the blob store under the photo's id.
CREATE TABLE photos (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    child_id     TEXT NOT NULL,
    digest       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX photos_same ON photos (county_code, child_id, digest);

-- A write a flaky phone may repeat: the first one's result, by the caller's key.
CREATE TABLE idempotency_keys (
    county_code  TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (county_code, user_id, key)
);

CREATE TABLE alerts (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    child_id      TEXT NOT NULL,
    division_code TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    summary       TEXT NOT NULL,
    raised_at     INTEGER NOT NULL,
    raised_by     TEXT NOT NULL,
    resolved_at   INTEGER,
    resolved_by   TEXT,
    resolution    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (county_code, id)
);
CREATE INDEX alerts_open ON alerts (division_code) WHERE resolved_at IS NULL;
CREATE INDEX alerts_child ON alerts (county_code, child_id);
