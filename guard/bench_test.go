package guard

import (
	"testing"

	"github.com/paywall/paywall/examples/site"
)

// BenchmarkResolve measures the path-to-file mapping every request pays.
func BenchmarkResolve(b *testing.B) {
	g, err := Load(site.Public(), Options{Catalog: catalog})
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"/posts/week0003/", "/posts//welcome/../week0003/index.html",
		"/POSTS/WEEK0003/", "/posts/week0003/shopping-list.txt", "/missing/"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g.Resolve(paths[i%len(paths)])
	}
}

// BenchmarkAudit measures the start-up audit of the example site.
func BenchmarkAudit(b *testing.B) {
	g, err := Load(site.Public(), Options{Catalog: catalog})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Audit(); err != nil {
			b.Fatal(err)
		}
	}
}
