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
		for _, s := range splitSentences(plainText(t)) {
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

// The same expressions as in the theme's partials/paywall-sentences.html.
var (
	inlineTag = regexp.MustCompile(`(?i)</?(a|abbr|b|cite|code|del|em|i|ins|kbd|mark|q|s|small|span|strong|sub|sup|time|u)\b[^>]*>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
	blanks    = regexp.MustCompile(`[ \t\r\f]+`)
	stop      = regexp.MustCompile(`([.!?]+) `)
	styles    = regexp.MustCompile(`(?is)<style\b[^>]*>.*?</style>`)
	cdata     = strings.NewReplacer("<![CDATA[", "", "]]>", "")
)

// plainText turns HTML into lines of text as the theme does with a page's
// content: line breaks are spaces, inline tags vanish, every other tag ends
// a line, entities are decoded. HTML escaped inside HTML, as feeds carry
// it, is stripped in a second pass. Text without tags keeps its lines.
func plainText(s string) string {
	if !anyTag.MatchString(s) {
		return html.UnescapeString(s)
	}
	s = cdata.Replace(styles.ReplaceAllString(s, " "))
	s = strings.ReplaceAll(s, "\n", " ")
	for range 2 {
		s = inlineTag.ReplaceAllString(s, "")
		s = html.UnescapeString(anyTag.ReplaceAllString(s, "\n"))
		if !anyTag.MatchString(s) {
			break
		}
	}
	return s
}

// splitSentences normalizes lines of text as partials/paywall-sentences.html
// does, so that both sides hash the same strings: white space collapsed,
// split after . ! or ?, lower-cased, and only sentences of five words or
// more, which are too long to repeat by chance.
func splitSentences(text string) []string {
	text = stop.ReplaceAllString(blanks.ReplaceAllString(text, " "), "$1\n")
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
