-- Accepted events: the event JSON as delivered (with its id and created_at filled in).
-- An event id is unique per app, so that a resent event is not delivered twice.
CREATE TABLE events (
    app_id      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    cid         TEXT,             -- the channel: FIFO message group, Kinesis partition key
    payload     TEXT    NOT NULL,
    accepted_at INTEGER NOT NULL, -- unix milliseconds
    PRIMARY KEY (app_id, id)
);

-- The outbox: one delivery per event and matching hook, written in the same transaction as the
-- event. `status` is pending (waiting, sending or retrying), delivered, failed (dead letter:
-- permanent error or attempts exhausted) or dropped (too big, or its hook is gone/disabled).
-- A process that sends a delivery holds a lease on it (`lease_until`, `lease_owner`); a lease
-- that runs out (the process died) lets any process claim the delivery again.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    app_id      INTEGER NOT NULL,
    hook_id     TEXT    NOT NULL,
    hook_type   TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,          -- unix ms: due time of the next attempt
    lease_until INTEGER,                   -- unix ms
    lease_owner TEXT,
    last_error  TEXT,
    size        INTEGER,                   -- bytes of the last encoded message
    accepted_at INTEGER NOT NULL,          -- unix ms, the event's
    done_at     INTEGER,                   -- unix ms: delivered, failed or dropped
    latency_ms  INTEGER                    -- accepted → delivered
);

CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_hook ON deliveries (app_id, hook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (app_id, event_id);
