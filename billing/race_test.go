//go:build race

package billing_test

// raceOrders replaces -orders under the race detector, which makes every
// SQLite statement many times slower. The property holds per run; the
// full count runs without -race (go test ./billing).
const raceOrders = 20
