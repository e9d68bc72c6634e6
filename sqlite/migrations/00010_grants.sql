-- +goose Up
-- Complimentary access an operator gives a member (`paywall members grant`).
-- ends_at is 0 for no end. A revoked grant keeps its row with revoked_at set;
-- at most one grant per member and plan is not revoked, and granting again
-- replaces its end.
CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    plan_id    TEXT    NOT NULL,
    ends_at    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX grants_open ON grants (member_id, plan_id) WHERE revoked_at = 0;

-- Members whose cached sessions and access other processes must drop, the
-- SQLite stand-in for PostgreSQL's NOTIFY: every change writes a row in
-- its own transaction, and each server polls for rows past the last seq it
-- saw. AUTOINCREMENT keeps seq growing after old rows are pruned. at is
-- Unix seconds.
CREATE TABLE forgotten (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX forgotten_at ON forgotten (at);

-- +goose Down
DROP TABLE forgotten;
DROP TABLE grants;
