// Package billing is everything paywall says to and hears from Stripe:
// Checkout Sessions through stripe-go, the verification of signed webhook
// events, their translation into paywall changes, the worker that applies
// stored events, and simulated checkout for running without a Stripe key.
package billing
