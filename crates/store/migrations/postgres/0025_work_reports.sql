-- Work reports (工作情况报告) as their authors kept them: a division and period, and the
-- text drafted from the figures and edited. Aggregates only, no personal data.
-- Citus: by county_code.
CREATE TABLE work_reports (
    county_code     TEXT NOT NULL,
    id              TEXT NOT NULL,
    division_code   TEXT NOT NULL,
    period_from     DATE NOT NULL,
    period_to       DATE NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    signer          TEXT NOT NULL,
    date_text       TEXT NOT NULL,
    author_id       TEXT NOT NULL,
    author_name     TEXT NOT NULL,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX work_reports_division ON work_reports (county_code, division_code, created_at);
