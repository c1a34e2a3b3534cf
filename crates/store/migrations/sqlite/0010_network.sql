-- The protection network as records: the stations table becomes every place of the
-- network (the county's center, a township's station, a village's work point, service
-- stations anywhere), and the people who hold its posts (supervisors, directors, staff)
-- with their training. A person who leaves keeps their row (left_on); a place that closes
-- keeps its row (closed_on). Dates are 'YYYY-MM-DD' text.

ALTER TABLE stations ADD COLUMN kind TEXT NOT NULL DEFAULT 'station';
ALTER TABLE stations ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE stations ADD COLUMN opened_on TEXT;
ALTER TABLE stations ADD COLUMN staff INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stations ADD COLUMN closed_on TEXT;
ALTER TABLE stations ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE stations SET updated_at = created_at;
-- One open center, station or work point per division; service stations as many as there are.
DROP INDEX stations_division;
CREATE UNIQUE INDEX stations_division ON stations (county_code, division_code, kind)
    WHERE kind <> 'service_station' AND closed_on IS NULL;

CREATE TABLE network_people (
    county_code   TEXT NOT NULL,
    id            TEXT NOT NULL,
    division_code TEXT NOT NULL,
    post          TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- sealed
    phone         TEXT NOT NULL,
    qualification TEXT NOT NULL,
    certificate   TEXT,
    appointed_on  TEXT NOT NULL,
    left_on       TEXT,
    left_reason   TEXT NOT NULL DEFAULT '',
    user_id       TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX network_people_at ON network_people (county_code, division_code, post);

CREATE TABLE network_trainings (
    county_code TEXT NOT NULL,
    id          TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    held_on     TEXT NOT NULL,
    -- tenths of an hour
    tenths      INTEGER NOT NULL,
    topic       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX network_trainings_person ON network_trainings (county_code, person_id, held_on);
