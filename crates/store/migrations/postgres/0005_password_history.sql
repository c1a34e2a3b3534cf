-- Earlier password hashes of each account, so a change can refuse a recent one (等保:
-- reuse limits). Only the hashes the policy's history length needs are kept.
CREATE TABLE password_history (
    user_id       TEXT NOT NULL,
    changed_at    BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, changed_at)
);
