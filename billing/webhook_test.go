package billing_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/paywall/paywall/billing"
)

const (
	secret      = "whsec_test_current"
	otherSecret = "whsec_test_other"
)

// eventJSON returns an event envelope of the given API version and object.
func eventJSON(apiVersion, object string) []byte {
	return fmt.Appendf(nil, `{"id":"evt_1","object":%q,"api_version":%q,"created":1750000000,`+
		`"type":"invoice.paid","livemode":false,"data":{"object":{"id":"in_1","object":"invoice"}}}`,
		object, apiVersion)
}

func TestVerify(t *testing.T) {
	now := time.Now()
	payload := eventJSON(stripe.APIVersion, "event")
	good := billing.Sign(payload, secret, now)
	// wrongSig is a well-formed v1 signature by another secret.
	wrongSig := strings.SplitN(billing.Sign(payload, otherSecret, now), "v1=", 2)[1]
	rightSig := strings.SplitN(good, "v1=", 2)[1]

	tests := []struct {
		name    string
		secrets []string
		payload []byte
		header  string
		wantErr error // nil: accepted; errAny: refused for any reason
	}{
		{"signed by Sign", []string{secret}, payload, good, nil},
		{"signed by stripe-go", []string{secret}, payload,
			webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
				Payload: payload, Secret: secret, Timestamp: now}).Header, nil},
		{"wrong secret", []string{otherSecret}, payload, good, billing.ErrSignature},
		{"no secrets", nil, payload, good, billing.ErrSignature},
		{"no header", []string{secret}, payload, "", billing.ErrSignature},
		{"garbage header", []string{secret}, payload, "sha256=abc", billing.ErrSignature},
		{"tampered body", []string{secret},
			[]byte(strings.Replace(string(payload), "invoice.paid", "invoice.voided", 1)), good,
			billing.ErrSignature},
		{"trailing newline", []string{secret}, append(append([]byte{}, payload...), '\n'), good,
			billing.ErrSignature},
		{"301 s old", []string{secret}, payload,
			billing.Sign(payload, secret, now.Add(-301*time.Second)), billing.ErrSignature},
		{"299 s ahead", []string{secret}, payload,
			billing.Sign(payload, secret, now.Add(299*time.Second)), nil},
		{"301 s ahead", []string{secret}, payload,
			billing.Sign(payload, secret, now.Add(301*time.Second)), billing.ErrSignature},
		{"second of two secrets", []string{otherSecret, secret}, payload, good, nil},
		{"two v1 signatures, second right", []string{secret}, payload,
			fmt.Sprintf("t=%d,v1=%s,v1=%s", now.Unix(), wrongSig, rightSig), nil},
		{"two v1 signatures, both wrong", []string{secret}, payload,
			fmt.Sprintf("t=%d,v1=%s,v1=%s", now.Unix(), wrongSig, wrongSig), billing.ErrSignature},
		{"old API version", []string{secret}, eventJSON("2024-06-20", "event"),
			billing.Sign(eventJSON("2024-06-20", "event"), secret, now), nil},
		{"basil API version", []string{secret}, eventJSON("2025-03-31.basil", "event"),
			billing.Sign(eventJSON("2025-03-31.basil", "event"), secret, now), nil},
		{"object is not an event", []string{secret}, eventJSON(stripe.APIVersion, "invoice"),
			billing.Sign(eventJSON(stripe.APIVersion, "invoice"), secret, now), errAny},
		{"signed but not JSON", []string{secret}, []byte("hello"),
			billing.Sign([]byte("hello"), secret, now), errAny},
		{"event without an id", []string{secret}, []byte(`{"object":"event","type":"invoice.paid"}`),
			billing.Sign([]byte(`{"object":"event","type":"invoice.paid"}`), secret, now), errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := billing.Verifier{Secrets: tt.secrets}
			_, err := v.Verify(tt.payload, tt.header, now)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("got %v, want nil", err)
			case tt.wantErr == errAny && err == nil:
				t.Errorf("got nil, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestVerifyEvent(t *testing.T) {
	now := time.Now()
	payload := eventJSON("2025-03-31.basil", "event")
	v := billing.Verifier{Secrets: []string{secret}}

	e, err := v.Verify(payload, billing.Sign(payload, secret, now), now)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ID", e.ID, "evt_1"},
		{"Type", e.Type, "invoice.paid"},
		{"APIVersion", e.APIVersion, "2025-03-31.basil"},
		{"Livemode", e.Livemode, false},
		{"Created", e.Created.Unix(), int64(1750000000)},
		{"ReceivedAt", e.ReceivedAt, now},
		{"Payload", string(e.Payload), string(payload)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestVerifyTooOld(t *testing.T) {
	now := time.Now()
	payload := eventJSON(stripe.APIVersion, "event")
	v := billing.Verifier{Secrets: []string{secret}}

	_, err := v.Verify(payload, billing.Sign(payload, secret, now.Add(-301*time.Second)), now)
	if !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("default tolerance: got %v, want %v", err, webhook.ErrTooOld)
	}

	v.Tolerance = 10 * time.Minute
	if _, err := v.Verify(payload, billing.Sign(payload, secret, now.Add(-301*time.Second)), now); err != nil {
		t.Errorf("tolerance of 10 minutes: got %v, want nil", err)
	}
}

// TestVerifyClock checks that the tolerance is measured against the now the
// caller passes, as every other clock in paywall is injected.
func TestVerifyClock(t *testing.T) {
	payload := eventJSON(stripe.APIVersion, "event")
	v := billing.Verifier{Secrets: []string{secret}}

	at := time.Unix(1_700_000_000, 0)
	if _, err := v.Verify(payload, billing.Sign(payload, secret, at), at.Add(time.Minute)); err != nil {
		t.Errorf("signed a minute before now: got %v, want nil", err)
	}

	wall := time.Now()
	_, err := v.Verify(payload, billing.Sign(payload, secret, wall), wall.Add(time.Hour))
	if !errors.Is(err, billing.ErrSignature) {
		t.Errorf("signed an hour before now: got %v, want %v", err, billing.ErrSignature)
	}
}

// TestVerifyTimestampSmuggling: a fresh t= next to an old, validly signed
// one must not make the old delivery pass the age check.
func TestVerifyTimestampSmuggling(t *testing.T) {
	const secret = "whsec_smuggle"
	now := time.Unix(1_750_000_000, 0)
	payload := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid","created":1,"data":{"object":{}}}`)
	old := billing.Sign(payload, secret, now.Add(-time.Hour))
	fresh := fmt.Sprintf("t=%d", now.Unix())
	v := billing.Verifier{Secrets: []string{secret}}
	for _, header := range []string{
		fresh + "," + old,  // stripe-go signs with the last t=: the old one
		old + ", " + fresh, // " t=" is no key to stripe-go: the old one again
	} {
		if _, err := v.Verify(payload, header, now); !errors.Is(err, billing.ErrSignature) {
			t.Errorf("header %q: got %v, want a signature error", header, err)
		}
	}
}
