-- +goose Up
-- Times are Unix seconds. Stripe identifiers are kept as Stripe writes them.
CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

-- A member may have several Stripe customers; each customer has one member.
CREATE TABLE customers (
    id         TEXT    PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX customers_member ON customers (member_id);

-- Subscriptions are stored by customer so that one arriving before its
-- checkout (Stripe does not order events) is linked once the checkout lands.
CREATE TABLE subscriptions (
    id          TEXT    PRIMARY KEY,
    customer_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    plan_id     TEXT    NOT NULL DEFAULT '',
    lookup_key  TEXT    NOT NULL DEFAULT '',
    period_end  INTEGER NOT NULL DEFAULT 0,
    cancel_at   INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE invoices (
    id              TEXT    PRIMARY KEY,
    customer_id     TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL DEFAULT '',
    number          TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT '',
    amount          INTEGER NOT NULL DEFAULT 0,
    currency        TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
);
CREATE INDEX invoices_customer ON invoices (customer_id);

-- Completed Checkout Sessions, for the success page.
CREATE TABLE checkouts (
    id              TEXT    PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    customer_id     TEXT    NOT NULL DEFAULT '',
    subscription_id TEXT    NOT NULL DEFAULT '',
    paid            INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

-- The webhook inbox: every verified event, stored before Stripe gets its 200.
CREATE TABLE events (
    id              TEXT    PRIMARY KEY,
    type            TEXT    NOT NULL,
    api_version     TEXT    NOT NULL DEFAULT '',
    livemode        INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    failed          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_due ON events (processed_at, failed, next_attempt_at);

CREATE TABLE sessions (
    token_hash   BLOB    PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_member ON sessions (member_id);

-- Single-use links (password setup, sign-in); only a hash of the token is kept.
CREATE TABLE links (
    token_hash BLOB    PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    purpose    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Mail to send, written in the same transaction as the change that causes it.
-- The cause makes a mail unique, so a change applied twice mails once.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    kind            TEXT    NOT NULL,
    cause           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    UNIQUE (kind, cause)
);

-- Orders placed in simulated mode (no Stripe key): the stand-in for Stripe Checkout.
CREATE TABLE simulated_checkouts (
    id           TEXT    PRIMARY KEY,
    plan_id      TEXT    NOT NULL,
    interval     TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    completed_at INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE simulated_checkouts;
DROP TABLE outbox;
DROP TABLE links;
DROP TABLE sessions;
DROP TABLE events;
DROP TABLE checkouts;
DROP TABLE invoices;
DROP TABLE subscriptions;
DROP TABLE customers;
DROP TABLE members;
