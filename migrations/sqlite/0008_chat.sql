-- The chat source (Stream-compatible users, channels, members and messages) and where each
-- event came from.
--
-- Every chat row keeps its key columns apart and the rest of the object (custom fields flat,
-- as Stream's SDKs send them) as JSON in `data`.

-- Where an event came from: `api` (POST /events) or `chat` (the chat source's calls).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'api';

CREATE TABLE chat_users (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: name, role, custom fields
    created_at INTEGER NOT NULL,          -- unix ms
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE chat_channels (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    cid        TEXT    NOT NULL,          -- type:id
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    created_by TEXT,                      -- user id
    data       TEXT    NOT NULL,          -- JSON object: custom fields
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, cid)
);

CREATE TABLE chat_members (
    app_id     INTEGER NOT NULL,
    cid        TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: channel_role, custom fields
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, cid, user_id),
    FOREIGN KEY (app_id, cid) REFERENCES chat_channels (app_id, cid) ON DELETE CASCADE
);

CREATE TABLE chat_messages (
    app_id     INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    cid        TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: text, attachments, custom fields
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,                   -- soft deleted
    PRIMARY KEY (app_id, id),
    FOREIGN KEY (app_id, cid) REFERENCES chat_channels (app_id, cid) ON DELETE CASCADE
);
-- A channel's latest messages.
CREATE INDEX chat_messages_channel ON chat_messages (app_id, cid, created_at);

-- Events of committed chat changes not yet accepted by ingest: written in the change's
-- transaction, removed once ingest has them; any left by a crash are accepted at the next
-- start (ingest skips an id it already has).
CREATE TABLE chat_outbox (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event_id   TEXT    NOT NULL,
    payload    TEXT    NOT NULL,          -- the event JSON
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, event_id)
);
