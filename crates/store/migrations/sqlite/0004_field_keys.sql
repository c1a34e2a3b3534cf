-- The field encryption keys this database's values are sealed with: each key's id and
-- check value (a fingerprint, never the key; the keys live in the key file). Id 0 is the
-- blind index key. A process whose key file does not match refuses to start.
CREATE TABLE field_keys (
    id          BIGINT PRIMARY KEY,
    check_value TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
