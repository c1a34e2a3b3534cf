-- Files on the plan's tasks (a unit's scanned 工作方案, photos of an activity, a PDF
-- report sent with its progress): the bytes in the blob store under the file's id, like a
-- report's attachments; the name as uploaded is sealed. The same bytes once per task.

CREATE TABLE plan_task_files (
    county_code  TEXT NOT NULL,
    id           TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX plan_task_files_same ON plan_task_files (county_code, task_id, digest);
