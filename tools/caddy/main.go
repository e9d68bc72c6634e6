// Command caddy is Caddy with its standard modules, built from the version
// pinned in this module's go.mod so that the deployment tests run the same
// Caddy an operator would, without Caddy's dependencies in paywall's go.mod.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
