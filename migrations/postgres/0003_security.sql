-- Credential lifecycle and roles: as migrations/sqlite/0005_security.sql.

ALTER TABLE apps ADD COLUMN previous_secret_enc TEXT;
ALTER TABLE apps ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE apps ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
UPDATE apps SET external_id = replace(gen_random_uuid()::text, '-', '');

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
CREATE TABLE user_apps (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id  BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, app_id)
);
CREATE INDEX user_apps_by_app ON user_apps (app_id);
