-- The schema of migrations/sqlite/0001…0004 for PostgreSQL, in one step. Times are unix
-- milliseconds in BIGINT columns, as on SQLite; every integer is a BIGINT (an i64 in Rust).

-- Dashboard administrators. Emails are stored lowercased; the hash is argon2id (PHC string).
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL -- unix milliseconds
);

-- Apps own event hooks. `api_secret_enc` is the secret sealed with the master key
-- (XChaCha20-Poly1305, see src/secrets.rs); the clear secret is never stored.
-- `settings` holds Stream's legacy flat hook settings and app-wide options (JSON, no secrets),
-- `settings_secrets_enc` their sealed secrets (`{"sqs_key","sqs_secret","sns_key","sns_secret"}`),
-- and `hooks_version` is a counter every hook change bumps first, so that concurrent changes of
-- one app's hooks are serialised (the row lock) and every process sees that its hooks changed.
CREATE TABLE apps (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 TEXT   NOT NULL,
    name_key             TEXT   NOT NULL UNIQUE, -- lowercased name: names are unique case-insensitively
    api_key              TEXT   NOT NULL UNIQUE,
    api_secret_enc       TEXT   NOT NULL,
    created_at           BIGINT NOT NULL, -- unix milliseconds
    settings             TEXT   NOT NULL DEFAULT '{}',
    settings_secrets_enc TEXT,
    hooks_version        BIGINT NOT NULL DEFAULT 0
);

-- Event hooks of an app, in the order the API and the dashboard list them.
-- `config` is the canonical hook (src/hooks/model.rs `EventHook` as JSON) without its AWS key
-- and secret; those are sealed with the master key in `credentials_enc` (`{"key","secret"}`).
CREATE TABLE event_hooks (
    app_id          BIGINT  NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    position        BIGINT  NOT NULL,
    hook_type       TEXT    NOT NULL,
    enabled         BOOLEAN NOT NULL,
    config          TEXT    NOT NULL,
    credentials_enc TEXT,
    created_at      BIGINT  NOT NULL, -- unix milliseconds
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- Accepted events: the event JSON as delivered (with its id and created_at filled in).
-- An event id is unique per app, so that a resent event is not delivered twice.
CREATE TABLE events (
    app_id      BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id          TEXT   NOT NULL,
    type        TEXT   NOT NULL,
    cid         TEXT,            -- the channel: FIFO message group, Kinesis partition key
    payload     TEXT   NOT NULL,
    accepted_at BIGINT NOT NULL, -- unix milliseconds
    PRIMARY KEY (app_id, id)
);

-- Retention deletes events accepted before a time (oldest first).
CREATE INDEX events_accepted ON events (accepted_at);

-- The outbox: one delivery per event and matching hook, written in the same transaction as the
-- event. `status` is pending (waiting, sending or retrying), delivered, failed (dead letter:
-- permanent error or attempts exhausted) or dropped (too big, or its hook is gone/disabled).
-- A process that sends a delivery holds a lease on it (`lease_until`, `lease_owner`); a lease
-- that runs out (the process died) lets any process claim the delivery again.
CREATE TABLE deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      BIGINT NOT NULL,
    hook_id     TEXT   NOT NULL,
    hook_type   TEXT   NOT NULL,
    event_id    TEXT   NOT NULL,
    event_type  TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,           -- unix ms: due time of the next attempt
    lease_until BIGINT,                    -- unix ms
    lease_owner TEXT,
    last_error  TEXT,
    size        BIGINT,                    -- bytes of the last encoded message
    accepted_at BIGINT NOT NULL,           -- unix ms, the event's
    done_at     BIGINT,                    -- unix ms: delivered, failed or dropped
    latency_ms  BIGINT                     -- accepted → delivered
);

CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_hook ON deliveries (app_id, hook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (app_id, event_id);
-- Retention deletes finished deliveries done before a time, a batch at a time.
CREATE INDEX deliveries_done ON deliveries (done_at) WHERE status <> 'pending';

-- Outcome counts per hook and 5-minute step, kept up to date by the transaction that records
-- the outcomes. The dashboard's health column and sparkline read these few rows instead of
-- counting deliveries, so the app page costs the same with ten deliveries an hour or a million.
CREATE TABLE hook_stats (
    app_id        BIGINT NOT NULL,
    hook_id       TEXT   NOT NULL,
    step          BIGINT NOT NULL, -- unix ms / 300,000
    delivered     BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0, -- failed or dropped
    last_success  BIGINT,          -- unix ms
    last_error    TEXT,            -- the newest error (a retry, failure or drop) in the step
    last_error_at BIGINT,          -- unix ms
    PRIMARY KEY (app_id, step, hook_id) -- the dashboard reads an app's newest steps
);
