package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/mail"
)

// TestTrialEndingMail checks that the trial_ending mail says the day the
// trial ends, which only its cause carries, and links to the account; a
// cause without a trial end is set aside as failed rather than sent vague.
func TestTrialEndingMail(t *testing.T) {
	var logged bytes.Buffer
	f := newFixture(t, mail.Log{Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	ctx := context.Background()
	member := f.buy(t, buyer)
	f.sendDue(t) // the setup mail
	logged.Reset()

	end := time.Date(2026, 3, 20, 23, 30, 0, 0, time.UTC)
	for _, cause := range []string{paywall.TrialCause("sub_1", end), "trial:sub_1:soon"} {
		if err := f.store.EnqueueMail(ctx, member, paywall.MailTrialEnding, cause); err != nil {
			t.Fatal(err)
		}
	}
	f.sendDue(t)

	var rec struct{ Subject, Text string }
	if err := json.Unmarshal(logged.Bytes(), &rec); err != nil {
		t.Fatalf("want one mail logged: %v\n%s", err, logged.String())
	}
	if want := "Your example.test trial ends on March 20, 2026"; rec.Subject != want {
		t.Errorf("subject %q, want %q", rec.Subject, want)
	}
	for _, want := range []string{"ends on March 20, 2026", "is charged",
		"http://paywall.test/account\n"} {
		if !strings.Contains(rec.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, rec.Text)
		}
	}
	failed, err := f.store.Mails(ctx, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Cause != "trial:sub_1:soon" ||
		!strings.Contains(failed[0].LastError, "no trial end") {
		t.Errorf("failed mails %+v, want the one whose cause has no trial end", failed)
	}
}
