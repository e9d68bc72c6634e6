// Package paywall holds the product's own vocabulary: members, plans,
// subscriptions and their status, access rules and the access decision.
//
// It does no I/O. Every outside thing (the database, Stripe, mail, the file
// system of the built site, HTTP) lives in a package of its own that speaks
// in these types; only cmd/paywall wires them together.
package paywall
