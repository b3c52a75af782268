-- When a delivery last became pending after it had finished (a redelivery); NULL: since it was
-- accepted. The age limit (--max-delivery-age) and the delivered latency count from it, so a
-- redelivered delivery gets the whole retry schedule again rather than a single try.
ALTER TABLE deliveries ADD COLUMN pending_since INTEGER;
