package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // registers the caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"      // reverse_proxy and the rest of the directives
)

// Golden adapt tests. Each testdata/caddyfile_adapt/*.caddyfiletest file
// holds a Caddyfile, a line of ten dashes, and then:
//   - for files named *_error.caddyfiletest: a substring that the adapt
//     error must contain (usually with the "at Caddyfile:N" location);
//   - for every other file: the JSON that `caddy adapt` must produce,
//     indented with tabs. Run `go test ./caddymodule/ -run Adapt -update`
//     to rewrite these after an intended change, and review the diff.

var update = flag.Bool("update", false, "rewrite the expected JSON of the golden adapt tests")

const (
	adaptDir       = "testdata/caddyfile_adapt"
	adaptSeparator = "\n----------\n"
)

// adaptCase is one golden file, split.
type adaptCase struct {
	name      string
	path      string
	caddyfile string
	expected  string
	wantErr   bool
}

func loadAdaptCases(t *testing.T) []adaptCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(adaptDir, "*.caddyfiletest"))
	if err != nil {
		t.Fatalf("list golden files: %v", err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden files in %s", adaptDir)
	}
	var cases []adaptCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		cf, expected, ok := strings.Cut(text, adaptSeparator)
		if !ok {
			t.Fatalf("%s: no %q separator line", p, strings.TrimSpace(adaptSeparator))
		}
		name := strings.TrimSuffix(filepath.Base(p), ".caddyfiletest")
		cases = append(cases, adaptCase{
			name:      name,
			path:      p,
			caddyfile: strings.TrimSpace(cf) + "\n",
			expected:  strings.TrimSpace(expected),
			wantErr:   strings.HasSuffix(name, "_error"),
		})
	}
	return cases
}

// adapt runs the Caddyfile adapter like `caddy adapt` does.
func adapt(caddyfileText string) ([]byte, []caddyconfig.Warning, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		return nil, nil, os.ErrNotExist
	}
	return adapter.Adapt([]byte(caddyfileText), map[string]any{"filename": "Caddyfile"})
}

func TestAdaptGolden(t *testing.T) {
	for _, c := range loadAdaptCases(t) {
		t.Run(c.name, func(t *testing.T) {
			out, warnings, err := adapt(c.caddyfile)
			for _, w := range warnings {
				// The design's example aligns its comments in columns,
				// which `caddy fmt` would not; any other warning fails.
				if strings.Contains(w.Message, "input is not formatted") {
					continue
				}
				t.Errorf("adapt warning: %s:%d: %s: %s", w.File, w.Line, w.Directive, w.Message)
			}
			if c.wantErr {
				if c.expected == "" {
					t.Fatalf("%s: empty expected error substring", c.path)
				}
				if err == nil {
					t.Fatalf("adapt succeeded, want an error containing %q; got config:\n%s", c.expected, out)
				}
				if !strings.Contains(err.Error(), c.expected) {
					t.Fatalf("adapt error:\n  %v\nwant it to contain:\n  %s", err, c.expected)
				}
				return
			}
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, out, "", "\t"); err != nil {
				t.Fatalf("indent adapted JSON: %v", err)
			}
			if *update {
				data := strings.TrimSpace(c.caddyfile) + adaptSeparator + got.String() + "\n"
				if err := os.WriteFile(c.path, []byte(data), 0o644); err != nil {
					t.Fatalf("update %s: %v", c.path, err)
				}
				return
			}
			if got.String() != c.expected {
				t.Errorf("adapted JSON differs from %s\n%s", c.path, lineDiff(c.expected, got.String()))
			}
		})
	}
}

// lineDiff shows the first differing lines of want and got, with context.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	from := max(0, i-3)
	var b strings.Builder
	b.WriteString("first difference at line ")
	b.WriteString(strconv.Itoa(i + 1))
	b.WriteString(":\n")
	for j := from; j < i; j++ {
		b.WriteString("  " + w[j] + "\n")
	}
	for j := i; j < min(len(w), i+5); j++ {
		b.WriteString("- " + w[j] + "\n")
	}
	for j := i; j < min(len(g), i+5); j++ {
		b.WriteString("+ " + g[j] + "\n")
	}
	return b.String()
}

// TestAdaptGoldenCoverage makes sure every subdirective has at least one
// golden success case and one golden error case, so that new syntax does
// not go untested.
func TestAdaptGoldenCoverage(t *testing.T) {
	subdirectives := []string{
		// global option
		"storage", "issuer", "signing_alg", "token_lifetime", "session_lifetime",
		"email", "address", "from", "tls", "username", "password",
		"sms", "account_sid", "auth_token", "base_url",
		"min_length", "breach", "breach_on_sign_in", "breach_on_error",
		"code_ttl", "code_max_attempts", "enumeration_protection", "lockout",
		"mfa", "totp", "backup_codes", "phone_code", "required",
		"sign_up", "identifiers", "phone_countries",
		// site directive
		"prefix", "sign_in_url", "after_sign_in_url", "task_url", "public", "identity_headers",
	}
	cases := loadAdaptCases(t)
	for _, sub := range subdirectives {
		word := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(sub) + `(\s|$)`)
		var ok, bad bool
		for _, c := range cases {
			if !word.MatchString(c.caddyfile) {
				continue
			}
			if c.wantErr && strings.Contains(c.expected, sub) {
				bad = true
			}
			if !c.wantErr {
				ok = true
			}
		}
		if !ok {
			t.Errorf("subdirective %s: no golden success case", sub)
		}
		if !bad {
			t.Errorf("subdirective %s: no golden error case whose expected error names it", sub)
		}
	}
}

// TestAdaptOrdersAuthgateFirst checks, independently of the golden JSON,
// that a site with reverse_proxy written before authgate and no `order`
// line runs authgate first.
func TestAdaptOrdersAuthgateFirst(t *testing.T) {
	out, warnings, err := adapt(`:8080 {
	reverse_proxy 127.0.0.1:9000
	file_server
	respond /x 200
	authgate
}
`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	if len(warnings) > 0 {
		t.Fatalf("adapt warnings: %v", warnings)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Handler string `json:"handler"`
							Routes  []struct {
								Handle []struct {
									Handler string `json:"handler"`
								} `json:"handle"`
							} `json:"routes"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("decode adapted JSON: %v", err)
	}
	srv, ok := cfg.Apps.HTTP.Servers["srv0"]
	if !ok {
		t.Fatalf("no srv0 in %s", out)
	}
	var order []string
	for _, r := range srv.Routes {
		for _, h := range r.Handle {
			order = append(order, h.Handler)
			for _, sr := range h.Routes {
				for _, sh := range sr.Handle {
					order = append(order, sh.Handler)
				}
			}
		}
	}
	if len(order) == 0 || order[0] != "authgate" {
		t.Fatalf("handler order %v, want authgate first", order)
	}
	if !containsAll(order, "reverse_proxy", "file_server", "static_response") {
		t.Fatalf("handler order %v is missing a handler", order)
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

// TestAdaptDesignExampleDecodes checks that the JSON adapted from the
// design's example decodes into the config structs with every value set.
func TestAdaptDesignExampleDecodes(t *testing.T) {
	raw := adaptedJSON(t, "design_example.caddyfiletest")
	app := decodeApp(t, raw)
	if app.Storage == nil || app.Storage.Path != "./data/authgate.db" ||
		app.Email == nil || app.Email.Password != "{env.SMTP_PASSWORD}" ||
		app.SMS == nil || app.SMS.AuthToken != "{env.TWILIO_TOKEN}" ||
		app.Password == nil || app.Password.Breach == nil || app.Password.Breach.Source != "hibp" ||
		app.Lockout == nil || app.Lockout.Attempts != 10 ||
		app.EnumerationProtection == nil || !*app.EnumerationProtection {
		t.Fatalf("decoded app misses values: %s", raw)
	}
}

// adaptedJSON adapts the Caddyfile of the golden file name (the part
// before the separator) and returns the JSON of its authgate app.
func adaptedJSON(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(adaptDir, name))
	if err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	cf, _, _ := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), adaptSeparator)
	out, _, err := adapt(cf)
	if err != nil {
		t.Fatalf("adapt %s: %v", name, err)
	}
	var cfg struct {
		Apps struct {
			Authgate json.RawMessage `json:"authgate"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("decode adapted JSON: %v", err)
	}
	return cfg.Apps.Authgate
}

// decodeApp decodes the JSON of an authgate app, refusing unknown fields.
func decodeApp(t *testing.T, raw json.RawMessage) App {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var app App
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("decode authgate app %s: %v", raw, err)
	}
	return app
}
