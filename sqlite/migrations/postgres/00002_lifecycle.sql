-- +goose Up
-- The whole subscription lifecycle: paused collection, the charges that tie
-- disputes to customers, holds that withhold access, mail owed to members
-- whose customer is not linked yet, and Stripe's prices as last reported.
ALTER TABLE subscriptions ADD COLUMN pause_collection BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN period_start BIGINT NOT NULL DEFAULT 0;

-- Every snapshot's pause state, so that access under pause_collection ends
-- with the period that was paid, whichever order the snapshots arrive in:
-- the earliest period end among paused snapshots newer than any unpaused one.
CREATE TABLE subscription_pauses (
    subscription_id TEXT    NOT NULL,
    version         BIGINT NOT NULL,
    paused          BIGINT NOT NULL,
    period_end      BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, version, paused, period_end)
);

CREATE TABLE charges (
    id          TEXT    PRIMARY KEY,
    customer_id TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);

-- A hold withholds access from every subscription of its customer (found
-- directly or through its charge) while active. Versioned like
-- subscriptions, so a dispute won before its opening arrives stays won.
CREATE TABLE holds (
    id          TEXT    PRIMARY KEY,
    reason      TEXT    NOT NULL,
    customer_id TEXT    NOT NULL DEFAULT '',
    charge_id   TEXT    NOT NULL DEFAULT '',
    active      BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX holds_customer ON holds (customer_id);
CREATE INDEX holds_charge ON holds (charge_id);

-- Mail an event owes the member of a Stripe customer. It moves to the
-- outbox as soon as the customer's member is known, which may be later
-- than the event when Stripe delivers the checkout last.
CREATE TABLE notices (
    kind        TEXT    NOT NULL,
    cause       TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    queued_at   BIGINT,
    PRIMARY KEY (kind, cause)
);
CREATE INDEX notices_customer ON notices (customer_id);

CREATE TABLE stripe_prices (
    id         TEXT    PRIMARY KEY,
    lookup_key TEXT    NOT NULL DEFAULT '',
    active     BIGINT NOT NULL,
    amount     BIGINT NOT NULL DEFAULT 0,
    currency   TEXT    NOT NULL DEFAULT '',
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX events_received ON events (received_at);

-- +goose Down
DROP INDEX events_received;
DROP TABLE stripe_prices;
DROP TABLE notices;
DROP TABLE holds;
DROP TABLE charges;
DROP TABLE subscription_pauses;
ALTER TABLE subscriptions DROP COLUMN period_start;
ALTER TABLE subscriptions DROP COLUMN pause_collection;
