package caddymodule

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestDemoCaddyfileAdapts keeps the root Caddyfile (what
// `make -f xcaddy.mk run` serves) valid.
func TestDemoCaddyfileAdapts(t *testing.T) {
	src, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting the demo Caddyfile: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w.Message)
	}
	var cfg struct {
		Apps map[string]json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var app App
	if err := json.Unmarshal(cfg.Apps["authgate"], &app); err != nil {
		t.Fatalf("authgate app: %v", err)
	}
	if app.Storage == nil || app.Storage.Backend != "file" || app.Email == nil || app.Email.Sender != "log" ||
		!app.SignUp.resolved().Enabled {
		t.Fatalf("demo app config: %s", cfg.Apps["authgate"])
	}
	if err := app.Validate(); err != nil {
		t.Fatalf("demo app config does not validate: %v", err)
	}
	if !strings.Contains(string(cfg.Apps["http"]), `"handler":"authgate"`) {
		t.Fatal("the demo site has no authgate handler")
	}
}
