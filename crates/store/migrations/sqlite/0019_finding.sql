-- Departments' lists matched against the ledger (数据共享, 应保尽保). dept_lists: each list
-- uploaded (its file sealed in the blob store under the list's id until delete_after, then
-- deleted: deleted_at), its matching's progress and counts. list_findings: what matching
-- found, one row a child (details sealed: the child's name, the explanation, a missing
-- child's number), the village that verifies it (or the county when the list did not say),
-- the work item of that list and village (work_id: "<list>.<division>") and the answer.
-- Citus: both by county_code.

CREATE TABLE dept_lists (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    rows         BIGINT NOT NULL,
    -- running, done, failed
    state        TEXT NOT NULL,
    done_rows    BIGINT NOT NULL,
    missing      BIGINT NOT NULL,
    changed      BIGINT NOT NULL,
    contradicts  BIGINT NOT NULL,
    error        TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    delete_after BIGINT NOT NULL,
    deleted_at   BIGINT,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX dept_lists_expiry ON dept_lists (delete_after);

CREATE TABLE list_findings (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    list_id       TEXT NOT NULL,
    -- missing, changed, contradicts
    kind          TEXT NOT NULL,
    row_no        BIGINT NOT NULL,
    child_id      TEXT,
    child_index   TEXT NOT NULL,
    division_code TEXT NOT NULL,
    details       TEXT NOT NULL,
    work_id       TEXT NOT NULL,
    -- added, updated, not_applicable; NULL until verified
    answer        TEXT,
    answer_note   TEXT NOT NULL,
    answered_by   TEXT,
    answered_at   BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX list_findings_list ON list_findings (county_code, list_id, division_code);
CREATE INDEX list_findings_division ON list_findings (county_code, division_code);
