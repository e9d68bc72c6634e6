package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// Each file in templates/ is one kind of mail and defines three templates:
// subject, text and html. The html part goes through html/template so that
// every value in it is escaped.
//
//go:embed templates/*.txt
var templateFS embed.FS

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var templates = loadTemplates()

func loadTemplates() map[string]kindTemplates {
	names, err := fs.Glob(templateFS, "templates/*.txt")
	if err != nil {
		panic(err)
	}
	out := map[string]kindTemplates{}
	for _, name := range names {
		kind := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".txt")
		out[kind] = kindTemplates{
			text: texttemplate.Must(texttemplate.ParseFS(templateFS, name)),
			html: htmltemplate.Must(htmltemplate.ParseFS(templateFS, name)),
		}
	}
	return out
}

// Data is what a mail template may print.
type Data struct {
	Site    string // the site's name (its host)
	Link    string // the single-use link the mail carries, if any
	Expires string // how long the link lasts, in words
	Account string // the member's dashboard, for billing mail
	// TrialEnd is the day a trial ends, for the trial_ending mail.
	TrialEnd string
}

// Render renders the mail of the given kind to address to.
func Render(kind, to string, d Data) (Message, error) {
	t, ok := templates[kind]
	if !ok {
		return Message{}, fmt.Errorf("render mail: no template for %q", kind)
	}
	m := Message{To: to}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return m, fmt.Errorf("render %s mail: %w", kind, err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", d); err != nil {
		return m, fmt.Errorf("render %s mail: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "html", d); err != nil {
		return m, fmt.Errorf("render %s mail: %w", kind, err)
	}
	m.Subject = strings.TrimSpace(subject.String())
	m.Text = strings.TrimSpace(text.String()) + "\n"
	m.HTML = html.String()
	return m, nil
}
