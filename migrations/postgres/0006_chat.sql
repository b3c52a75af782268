-- As migrations/sqlite/0008_chat.sql.
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'api';

CREATE TABLE chat_users (
    app_id     BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: name, role, custom fields
    created_at BIGINT  NOT NULL,          -- unix ms
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE chat_channels (
    app_id     BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    cid        TEXT    NOT NULL,          -- type:id
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    created_by TEXT,                      -- user id
    data       TEXT    NOT NULL,          -- JSON object: custom fields
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, cid)
);

CREATE TABLE chat_members (
    app_id     BIGINT  NOT NULL,
    cid        TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: channel_role, custom fields
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, cid, user_id),
    FOREIGN KEY (app_id, cid) REFERENCES chat_channels (app_id, cid) ON DELETE CASCADE
);

CREATE TABLE chat_messages (
    app_id     BIGINT  NOT NULL,
    id         TEXT    NOT NULL,
    cid        TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    data       TEXT    NOT NULL,          -- JSON object: text, attachments, custom fields
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    deleted_at BIGINT,                    -- soft deleted
    PRIMARY KEY (app_id, id),
    FOREIGN KEY (app_id, cid) REFERENCES chat_channels (app_id, cid) ON DELETE CASCADE
);
CREATE INDEX chat_messages_channel ON chat_messages (app_id, cid, created_at);

CREATE TABLE chat_outbox (
    app_id     BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event_id   TEXT    NOT NULL,
    payload    TEXT    NOT NULL,          -- the event JSON
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, event_id)
);
