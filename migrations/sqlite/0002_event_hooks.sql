-- Event hooks of an app, in the order the API and the dashboard list them.
-- `config` is the canonical hook (src/hooks/model.rs `EventHook` as JSON) without its AWS key
-- and secret; those are sealed with the master key in `credentials_enc` (`{"key","secret"}`).
CREATE TABLE event_hooks (
    app_id          INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    hook_type       TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    config          TEXT    NOT NULL,
    credentials_enc TEXT,
    created_at      INTEGER NOT NULL, -- unix milliseconds
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- Stream's legacy flat hook settings and app-wide options (JSON, no secrets), their sealed
-- secrets (`{"sqs_key","sqs_secret","sns_key","sns_secret"}`), and a counter every hook change
-- bumps first, so that concurrent changes of one app's hooks are serialised.
ALTER TABLE apps ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN settings_secrets_enc TEXT;
ALTER TABLE apps ADD COLUMN hooks_version INTEGER NOT NULL DEFAULT 0;
