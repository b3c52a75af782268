-- Credential lifecycle and roles (issue 16).

-- A rotated secret keeps working until `previous_secret_until` (unix ms): sealed like
-- `api_secret_enc`, with the same associated data.
ALTER TABLE apps ADD COLUMN previous_secret_enc TEXT;
ALTER TABLE apps ADD COLUMN previous_secret_until INTEGER;
-- The external id Hookrelay passes when it assumes a tenant's role: random per app (the
-- sequential app id could be guessed by another tenant naming the same role).
ALTER TABLE apps ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
UPDATE apps SET external_id = lower(hex(randomblob(16)));

-- Dashboard roles: `admin` (every app, and the users) or `member` (the apps in user_apps).
-- Users created before roles existed were administrators.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
CREATE TABLE user_apps (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id  INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, app_id)
);
CREATE INDEX user_apps_by_app ON user_apps (app_id);
