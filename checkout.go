package paywall

// CheckoutRequest is what a buyer asked for on the pricing page.
type CheckoutRequest struct {
	Plan     Plan
	Price    Price
	Email    string // typed by the buyer; optional, and never the account's identity
	MemberID int64  // the signed-in member, or 0
	// MemberEmail is the signed-in member's address, or "".
	MemberEmail string
	// CustomerID is the signed-in member's Stripe customer, or "".
	CustomerID string
}

// CheckoutSession is where to send the buyer to pay.
type CheckoutSession struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// CheckoutStatus is where a Checkout Session stands, as Stripe reports it.
type CheckoutStatus string

// Checkout statuses.
const (
	CheckoutOpen       CheckoutStatus = "open"       // the buyer has not paid yet
	CheckoutProcessing CheckoutStatus = "processing" // complete, payment not cleared (bank debits)
	CheckoutPaid       CheckoutStatus = "paid"       // complete and paid
	CheckoutExpired    CheckoutStatus = "expired"
)
