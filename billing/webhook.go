package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/paywall/paywall"
)

// Verifier checks Stripe-Signature headers against one or more endpoint
// secrets. Several secrets let an operator rotate one without downtime.
type Verifier struct {
	Secrets   []string
	Tolerance time.Duration // 0 means stripe-go's default of 300 s
	// Livemode is the mode of the configured key: an event of the other
	// mode is returned with paywall.ErrOtherMode, to be acknowledged and
	// ignored (a test-mode endpoint pointed at a live server, or the reverse).
	Livemode bool
}

// ErrSignature is returned for a missing or wrong signature, or a timestamp
// outside the tolerance: the request did not come from Stripe as sent.
var ErrSignature = paywall.ErrBadSignature

// Verify checks payload, the exact bytes received, against the header and
// returns the event it holds. Events of any API version are accepted: only
// the fields paywall uses are read later, from either shape.
func (v Verifier) Verify(payload []byte, header string, now time.Time) (paywall.Event, error) {
	if header == "" {
		return paywall.Event{}, fmt.Errorf("%w: no Stripe-Signature header", ErrSignature)
	}
	// The age is checked here against now, not by stripe-go against the
	// wall clock, so that the server's clock is the one injected.
	if err := v.checkAge(header, now); err != nil {
		return paywall.Event{}, err
	}
	opts := webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true}
	var lastErr error = webhook.ErrNoValidSignature
	for _, secret := range v.Secrets {
		// One call checks the signature and reads the event; only a
		// signature error sends it on to the next secret.
		se, err := webhook.ConstructEventWithOptions(payload, header, secret, opts)
		if isSignatureError(err) {
			lastErr = err
			continue
		}
		if err != nil {
			return paywall.Event{}, fmt.Errorf("not a Stripe event: %w", err)
		}
		if se.ID == "" || se.Type == "" {
			return paywall.Event{}, fmt.Errorf("not a Stripe event: no id or type")
		}
		// Stripe's IDs and types are short and printable; anything else could
		// never be stored (PostgreSQL refuses NUL in text) and would be
		// retried for days.
		if !plainToken(se.ID) || !plainToken(string(se.Type)) {
			return paywall.Event{}, fmt.Errorf("not a Stripe event: id or type is not a short printable word")
		}
		e := paywall.Event{
			ID:         se.ID,
			Type:       string(se.Type),
			APIVersion: se.APIVersion,
			Livemode:   se.Livemode,
			Created:    time.Unix(se.Created, 0),
			Payload:    payload,
			ReceivedAt: now,
		}
		if e.Livemode != v.Livemode {
			return e, fmt.Errorf("%w: event livemode %t", paywall.ErrOtherMode, e.Livemode)
		}
		return e, nil
	}
	return paywall.Event{}, fmt.Errorf("%w: %w", ErrSignature, lastErr)
}

// checkAge refuses a header whose timestamp is older than the tolerance,
// which stops a captured delivery from being replayed later, or further
// ahead of our clock than the tolerance, which no honest sender's clock is.
func (v Verifier) checkAge(header string, now time.Time) error {
	// stripe-go signs with the last t= of the header; check that same one, or
	// a fresh t= in front of an old, validly signed one would replay it.
	stamp, found := "", false
	// Parse as stripe-go does: pairs split on commas, keys untrimmed.
	for _, part := range strings.Split(header, ",") {
		if kv := strings.Split(part, "="); len(kv) == 2 && kv[0] == "t" {
			stamp, found = kv[1], true
		}
	}
	if !found {
		return fmt.Errorf("%w: %w", ErrSignature, webhook.ErrNotSigned)
	}
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, webhook.ErrInvalidHeader)
	}
	switch at := time.Unix(ts, 0); {
	case now.Sub(at) > tolerance(v):
		return fmt.Errorf("%w: %w", ErrSignature, webhook.ErrTooOld)
	case at.Sub(now) > tolerance(v):
		return fmt.Errorf("%w: timestamp %s is more than %s ahead of this server's clock",
			ErrSignature, at.UTC().Format(time.RFC3339), tolerance(v))
	}
	return nil
}

func tolerance(v Verifier) time.Duration {
	if v.Tolerance == 0 {
		return webhook.DefaultTolerance
	}
	return v.Tolerance
}

// dataObject returns the raw data.object of a stored event payload.
func dataObject(payload []byte) ([]byte, error) {
	var env struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if len(env.Data.Object) == 0 {
		return nil, fmt.Errorf("decode event: no data.object")
	}
	return env.Data.Object, nil
}

// Sign returns a Stripe-Signature header for payload, as Stripe computes it.
func Sign(payload []byte, secret string, at time.Time) string {
	return fmt.Sprintf("t=%d,v1=%x", at.Unix(), webhook.ComputeSignature(at, payload, secret))
}

// isSignatureError reports whether err says the header does not sign the
// payload with the secret tried, rather than that the payload is no event.
func isSignatureError(err error) bool {
	return errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrInvalidHeader) ||
		errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrTooOld)
}

// plainToken reports whether s is at most 255 printable ASCII characters.
func plainToken(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
