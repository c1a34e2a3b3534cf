-- Early warnings (预警): what a rule found about a child, kept while it goes on firing
-- (ended_at NULL: one a child and rule), the facts sealed (they may name a guardian), the
-- person's decision on it (raise the child's risk level, or keep it, with the reason,
-- sealed). A rule that stops firing ends its warning; firing again later raises a new one.
-- warning_marks holds how far the evaluation of changes has read. Citus: warnings by
-- county_code; warning_marks is a reference table.

CREATE TABLE warnings (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    child_id      TEXT NOT NULL,
    division_code TEXT NOT NULL,
    rule          TEXT NOT NULL,
    facts         TEXT NOT NULL,
    raised_at     BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    ended_at      BIGINT,
    decided_at    BIGINT,
    decided_by    TEXT,
    decided_name  TEXT NOT NULL DEFAULT '',
    decision      TEXT NOT NULL DEFAULT '',
    risk_to       TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX warnings_active ON warnings (county_code, child_id, rule) WHERE ended_at IS NULL;
CREATE INDEX warnings_division ON warnings (county_code, division_code, raised_at) WHERE ended_at IS NULL;

CREATE TABLE warning_marks (
    name TEXT PRIMARY KEY,
    at   BIGINT NOT NULL
);
