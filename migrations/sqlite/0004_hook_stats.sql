-- Outcome counts per hook and 5-minute step, kept up to date by the transaction that records
-- the outcomes. The dashboard's health column and sparkline read these few rows instead of
-- counting deliveries, so the app page costs the same with ten deliveries an hour or a million.
CREATE TABLE hook_stats (
    app_id        INTEGER NOT NULL,
    hook_id       TEXT    NOT NULL,
    step          INTEGER NOT NULL, -- unix ms / 300,000
    delivered     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0, -- failed or dropped
    last_success  INTEGER,          -- unix ms
    last_error    TEXT,             -- the newest error (a retry, failure or drop) in the step
    last_error_at INTEGER,          -- unix ms
    PRIMARY KEY (app_id, step, hook_id) -- the dashboard reads an app's newest steps
);
