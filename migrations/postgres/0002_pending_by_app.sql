-- The dashboard counts an app's pending deliveries per hook on every page view. Without this
-- index PostgreSQL may scan the whole outbox for it (its statistics still count the rows that
-- were pending when they were inserted); with it the count reads only pending rows of the app.
CREATE INDEX deliveries_pending_by_app ON deliveries (app_id, hook_id) WHERE status = 'pending';
