-- +goose Up
-- Token buckets of the rate limits, shared by every process on the
-- database. A bucket is full again at full_at (Unix milliseconds), and a
-- full bucket is what a key without a row gets, so such rows are dropped.
CREATE TABLE rate_buckets (
    key        TEXT    PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT  NOT NULL,
    full_at    BIGINT  NOT NULL
);
CREATE INDEX rate_buckets_full ON rate_buckets (full_at);

-- +goose Down
DROP TABLE rate_buckets;
