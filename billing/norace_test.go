//go:build !race

package billing_test

const raceOrders = 0
