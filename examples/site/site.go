// Package site embeds the example Hugo site: its built output and its plans
// file, so that paywall runs out of the box with no Hugo.
package site

import (
	"embed"
	"io/fs"
)

//go:embed all:public
var public embed.FS

// Plans is the example's plans file, data/paywall.toml, which the Hugo
// build also reads to print the pricing page.
//
//go:embed data/paywall.toml
var Plans []byte

// Public returns the built site.
func Public() fs.FS {
	sub, err := fs.Sub(public, "public")
	if err != nil {
		panic(err)
	}
	return sub
}
