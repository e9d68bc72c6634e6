package guard

import (
	"encoding/json"
	"fmt"
	"io/fs"
)

type manifest struct {
	Generator string         `json:"generator"`
	Pages     []manifestPage `json:"pages"`
}

type manifestPage struct {
	URL       string   `json:"url"`
	File      string   `json:"file"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	Plans     []string `json:"plans"`
	Aliases   []string `json:"aliases"`
	Teaser    string   `json:"teaser"`
	Resources []string `json:"resources"`
	// Sentences are the SHA-256 hashes of the gated body's sentences, as
	// partials/paywall-sentences.html normalizes them: enough for the audit to
	// recognise the body elsewhere, without the manifest carrying it.
	Sentences []string `json:"sentences"`
}

// readManifest returns the pages the site's manifest lists; the error wraps
// fs.ErrNotExist when the site has none.
func readManifest(site fs.FS) ([]page, error) {
	data, err := fs.ReadFile(site, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	pages := make([]page, len(m.Pages))
	for i, p := range m.Pages {
		pages[i] = page{URL: p.URL, File: p.File, Plans: p.Plans, Aliases: p.Aliases,
			Resources: p.Resources, Title: p.Title, Teaser: p.Teaser, Sentences: p.Sentences}
	}
	return pages, nil
}
