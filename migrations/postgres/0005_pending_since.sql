-- As migrations/sqlite/0007_pending_since.sql.
ALTER TABLE deliveries ADD COLUMN pending_since BIGINT;
