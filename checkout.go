package paywall

// CheckoutRequest is what a buyer asked for on the pricing page.
type CheckoutRequest struct {
	Plan     Plan
	Price    Price
	Email    string // typed by the buyer; optional, and never the account's identity
	MemberID int64  // the signed-in member, or 0
}

// CheckoutSession is where to send the buyer to pay.
type CheckoutSession struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}
