-- Attachments of reports (a photo of an injury, a school's scanned form): the bytes live in
-- the blob store under the attachment's id, like visit photos; the name as uploaded is
-- sealed (it may name the child).
-- Citus: distributed by county_code, colocated with the reports.

CREATE TABLE report_attachments (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX report_attachments_same
    ON report_attachments (county_code, report_id, digest);
