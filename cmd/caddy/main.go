// Command caddy is Caddy with its standard modules and authgate.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/authgate/authgate/caddymodule"
)

func main() {
	caddycmd.Main()
}
