-- +goose Up
-- A mail that can never be delivered (the provider refused it for good, or
-- every retry failed) is set aside as failed until an operator retries it.
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
CREATE INDEX outbox_due ON outbox (sent_at, failed_at, next_attempt_at);

-- An email change is mailed to the new address, and its link carries it.
ALTER TABLE outbox ADD COLUMN to_address TEXT NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN email TEXT NOT NULL DEFAULT '';
CREATE INDEX links_member ON links (member_id);

-- +goose Down
DROP INDEX links_member;
ALTER TABLE links DROP COLUMN email;
ALTER TABLE outbox DROP COLUMN to_address;
DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN failed_at;
