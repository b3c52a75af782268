-- Facts about the database itself: the master-key canary (a value sealed with the key at the
-- first start; a key that cannot open it is the wrong key).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Retention (src/store/sqlite/retention.rs) deletes in small batches found through these
-- indexes instead of scanning the tables: finished deliveries by when they finished, events
-- by when they were accepted (walked in (accepted_at, rowid) order), health steps by step.
CREATE INDEX deliveries_done ON deliveries (done_at) WHERE status != 'pending';
CREATE INDEX events_accepted ON events (accepted_at);
CREATE INDEX hook_stats_by_step ON hook_stats (step);
