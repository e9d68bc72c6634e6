package guard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/paywall/paywall"
)

// Leak is a file of the site, outside a gated page's protection, that
// repeats a sentence of that page's gated body.
type Leak struct {
	File    string // path in the site
	Page    string // the gated page's URL
	Snippet string // the sentence found, as the file has it
}

// Audit reads every file of the site (feeds, list pages, taxonomies, JSON
// outputs, the sitemap, alias pages, the 404 page) and reports each that a
// reader without a gated page's plans could fetch and that contains a
// sentence of that page's gated body: one Leak per file and page, sorted.
// Pages whose body paywall does not know (path rules) are not audited.
func (g *Guard) Audit() ([]Leak, error) {
	var leaks []Leak
	files := make([]string, 0, len(g.files))
	for f := range g.files {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		if f == ManifestFile {
			continue
		}
		data, err := fs.ReadFile(g.site, f)
		if err != nil {
			return nil, err
		}
		if !isText(data) {
			continue
		}
		leaks = append(leaks, g.auditFile(f, fileSentences(data))...)
	}
	return leaks, nil
}

func (g *Guard) auditFile(f string, sentences []sentence) []Leak {
	var leaks []Leak
	fileRule := g.ruleFor(f)
	for _, p := range g.gated {
		if protects(fileRule, p.rule) {
			continue
		}
		for _, s := range sentences {
			if p.sentences[s.hash] {
				leaks = append(leaks, Leak{File: f, Page: p.rule.Path, Snippet: s.text})
				break
			}
		}
	}
	return leaks
}

// protects reports whether every reader that fileRule lets in may also read
// the page guarded by page: then the file may repeat the page's body.
func protects(fileRule, page *paywall.Rule) bool {
	if fileRule == nil {
		return false
	}
	for _, p := range fileRule.Unlocking() {
		if !slices.Contains(page.Unlocking(), p) {
			return false
		}
	}
	return true
}

// isText tells text from images and other binary files, which have NUL
// bytes early on.
func isText(data []byte) bool {
	return !bytes.ContainsRune(data[:min(len(data), 1024)], 0)
}

type sentence struct {
	text string // as normalized, for the report
	hash string
}

// fileSentences returns the sentences of a file's text: of every string of
// a JSON document, or of the text of HTML and XML (whose escaped HTML, as
// feeds carry it, is unescaped and stripped as well).
func fileSentences(data []byte) []sentence {
	var texts []string
	var doc any
	if json.Unmarshal(data, &doc) == nil {
		collectStrings(doc, &texts)
	} else {
		texts = []string{string(data)}
	}
	var out []sentence
	for _, t := range texts {
		t = stripTags(html.UnescapeString(stripTags(t)))
		for _, s := range splitSentences(t) {
			out = append(out, sentence{text: s, hash: hashSentence(s)})
		}
	}
	return out
}

func collectStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, x := range v {
			collectStrings(x, out)
		}
	case map[string]any:
		for _, x := range v {
			collectStrings(x, out)
		}
	}
}

var (
	tag   = regexp.MustCompile(`(?s)<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*>|<!--.*?-->|<!\[CDATA\[|\]\]>`)
	space = regexp.MustCompile(`\s+`)
	stop  = regexp.MustCompile(`([.!?]+) `)
)

// inline tags are removed without a trace, as Hugo's .Plain does; any
// other tag separates words.
var inline = map[string]bool{"a": true, "abbr": true, "b": true, "cite": true, "code": true,
	"del": true, "em": true, "i": true, "ins": true, "kbd": true, "mark": true, "q": true,
	"s": true, "small": true, "span": true, "strong": true, "sub": true, "sup": true,
	"time": true, "u": true}

// stripTags removes tags and comments, and the contents of script and style
// elements other than JSON-LD, which search engines read as text.
func stripTags(s string) string {
	if !strings.ContainsAny(s, "<>") {
		return s
	}
	s = dropElements(s)
	return tag.ReplaceAllStringFunc(s, func(m string) string {
		sub := tag.FindStringSubmatch(m)
		if sub[2] != "" && inline[strings.ToLower(sub[2])] {
			return ""
		}
		return " "
	})
}

var scripts = regexp.MustCompile(`(?is)<(style)\b[^>]*>.*?</style>`)

func dropElements(s string) string { return scripts.ReplaceAllString(s, " ") }

// splitSentences normalizes text as partials/paywall-sentences.html in the
// theme does, so that both sides hash the same strings: entities decoded,
// white space collapsed, split after . ! or ?, lower-cased, and only
// sentences of five words or more, which are too long to repeat by chance.
func splitSentences(text string) []string {
	text = space.ReplaceAllString(html.UnescapeString(text), " ")
	text = stop.ReplaceAllString(text, "$1\n")
	var out []string
	for _, s := range strings.Split(text, "\n") {
		s = strings.ToLower(strings.Trim(s, " "))
		if strings.Count(s, " ") >= 4 {
			out = append(out, s)
		}
	}
	return out
}

func hashSentence(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sentenceHashes returns the hashes of the sentences of plain text.
func sentenceHashes(text string) []string {
	var out []string
	for _, s := range splitSentences(text) {
		out = append(out, hashSentence(s))
	}
	return out
}
