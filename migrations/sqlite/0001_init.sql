-- Dashboard administrators. Emails are stored lowercased; the hash is argon2id (PHC string).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL -- unix milliseconds
);

-- Apps own event hooks. `api_secret_enc` is the secret sealed with the master key
-- (XChaCha20-Poly1305, see src/secrets.rs); the clear secret is never stored.
CREATE TABLE apps (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    name_key       TEXT    NOT NULL UNIQUE, -- lowercased name: names are unique case-insensitively
    api_key        TEXT    NOT NULL UNIQUE,
    api_secret_enc TEXT    NOT NULL,
    created_at     INTEGER NOT NULL -- unix milliseconds
);
