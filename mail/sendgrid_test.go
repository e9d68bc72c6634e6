package mail_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/paywall/paywall/mail"
)

const sendgridKey = "SG.test-key.secret"

// sendgridAPI stands in for SendGrid's v3 mail send API, which has no
// official test server: it records each request and answers with the next
// status of its script (202, SendGrid's "accepted", once the script is spent).
type sendgridAPI struct {
	*httptest.Server

	mu       sync.Mutex
	script   []int
	requests []sgRequest
}

type sgRequest struct {
	method, path, auth, contentType, body string
	status                                int
}

func startSendGrid(t *testing.T, script ...int) *sendgridAPI {
	t.Helper()
	api := &sendgridAPI{script: script}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		status := http.StatusAccepted
		if len(api.script) > 0 {
			status, api.script = api.script[0], api.script[1:]
		}
		api.requests = append(api.requests, sgRequest{method: r.Method, path: r.URL.Path,
			auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"),
			body: string(b), status: status})
		api.mu.Unlock()
		if status != http.StatusAccepted {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, `{"errors":[{"message":"scripted failure","field":null}]}`)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(api.Close)
	return api
}

func (api *sendgridAPI) log() []sgRequest {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]sgRequest(nil), api.requests...)
}

func (api *sendgridAPI) mailer() *mail.SendGrid {
	m := mail.NewSendGrid(sendgridKey, sender)
	m.Host = api.URL
	return m
}

func TestSendGridRequest(t *testing.T) {
	api := startSendGrid(t)
	err := api.mailer().Send(context.Background(), mail.Message{To: buyer,
		Subject: "Set your password", Text: "Open http://paywall.test/?a=1&b=2\n",
		HTML: `<p><a href="http://paywall.test/">Open</a></p>`})
	if err != nil {
		t.Fatal(err)
	}
	reqs := api.log()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != "POST" || r.path != "/v3/mail/send" {
		t.Errorf("request %s %s, want POST /v3/mail/send", r.method, r.path)
	}
	if want := "Bearer " + sendgridKey; r.auth != want {
		t.Errorf("Authorization %q, want %q", r.auth, want)
	}
	want := `{"from":{"name":"Letters","email":"news@example.test"},` +
		`"subject":"Set your password",` +
		`"personalizations":[{"to":[{"email":"reader@example.test"}]}],` +
		`"content":[{"type":"text/plain","value":"Open http://paywall.test/?a=1\u0026b=2\n"},` +
		`{"type":"text/html","value":"\u003cp\u003e\u003ca href=\"http://paywall.test/\"\u003eOpen\u003c/a\u003e\u003c/p\u003e"}]}`
	if r.body != want {
		t.Errorf("body:\n%s\nwant:\n%s", r.body, want)
	}
}

func TestSendGridRetries429And5xx(t *testing.T) {
	api := startSendGrid(t, 429, 500, 503)
	f := newFixture(t, api.mailer())
	member := f.buy(t, buyer)
	for range 6 {
		f.sendDue(t)
	}
	var statuses []int
	for _, r := range api.log() {
		statuses = append(statuses, r.status)
	}
	if got, want := statuses, []int{429, 500, 503, 202}; !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v: each failure tried again, the mail sent once", got, want)
	}
	if got := f.mail(t); got.SentAt.IsZero() || got.Attempts != 4 {
		t.Errorf("outbox row: %+v, want sent after 4 attempts", got)
	}
	body := api.log()[3].body
	i := strings.Index(body, "http://paywall.test/account/setup?token=")
	if i < 0 {
		t.Fatalf("the accepted mail carries no setup link:\n%s", body)
	}
	link := body[i:]
	link = link[:strings.IndexAny(link, `\" `)]
	f.wantSetupLink(t, link, member)
}

func TestSendGrid4xxFails(t *testing.T) {
	api := startSendGrid(t, 400)
	f := newFixture(t, api.mailer())
	f.buy(t, buyer)
	for range 3 {
		f.sendDue(t)
	}
	if n := len(api.log()); n != 1 {
		t.Errorf("%d requests, want 1: a 400 is not tried again", n)
	}
	got := f.mail(t)
	if got.FailedAt.IsZero() || !strings.Contains(got.LastError, "400") {
		t.Errorf("outbox row: %+v, want failed with the 400", got)
	}
	if strings.Contains(got.LastError, sendgridKey) {
		t.Errorf("last_error holds the API key")
	}
}
