-- Wrong codes per connection and recipient across codes (a new code does not reset them),
-- so guessing is capped for the recipient, whichever replica answers.
ALTER TABLE otps ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE otps ADD COLUMN failures_since TEXT;
