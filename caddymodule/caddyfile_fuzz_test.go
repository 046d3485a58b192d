package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // registers the caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"      // the directives a body may spill into
)

// fuzzAdapt runs the Caddyfile adapter as `caddy adapt` does.
func fuzzAdapt(t *testing.T, text string) ([]byte, error) {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		t.Fatal("no caddyfile adapter")
	}
	out, _, err := adapter.Adapt([]byte(text), map[string]any{"filename": "Caddyfile"})
	return out, err
}

// readsFiles reports whether a Caddyfile body could make the adapter read
// files or the environment (import, {$ENV}); such bodies are skipped, as
// `import /dev/zero` would never end.
func readsFiles(body string) bool {
	plain := strings.NewReplacer(`"`, "", "`", "", `\`, "").Replace(body)
	return strings.Contains(plain, "import") || strings.Contains(plain, "{$")
}

// authgateBlocks returns the bodies of the authgate global option and of
// the authgate site directives in a golden Caddyfile, for seeds.
func authgateBlocks(text string) (global, site []string) {
	globalEnd := -1
	if t := strings.TrimLeft(text, " \t\r\n"); strings.HasPrefix(t, "{") {
		globalEnd = matchBrace(text, len(text)-len(t))
	}
	for i := 0; ; {
		j := strings.Index(text[i:], "authgate {")
		if j < 0 {
			return global, site
		}
		open := i + j + len("authgate ")
		end := matchBrace(text, open)
		if end < 0 {
			return global, site
		}
		if body := text[open+1 : end]; open < globalEnd {
			global = append(global, body)
		} else {
			site = append(site, body)
		}
		i = end
	}
}

// matchBrace returns the index of the '}' that closes the '{' at open,
// or -1.
func matchBrace(text string, open int) int {
	depth := 0
	for k := open; k < len(text); k++ {
		switch text[k] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return k
			}
		}
	}
	return -1
}

// FuzzCaddyfile feeds arbitrary bodies to the `authgate` global option
// and to the `authgate` site directive, through Caddy's own Caddyfile
// adapter (seeded with every golden file's blocks). The adapter never
// panics; when it adapts, the authgate app and every authgate handler it
// wrote decode into App and Handler without unknown fields, encode back
// to the same JSON (nothing is lost on the way to a running config), and
// pass Validate, as the parser already ran it: what `caddy adapt`
// accepts, `caddy run` does not refuse for a reason the Caddyfile could
// have reported.
func FuzzCaddyfile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("golden Caddyfiles: %v (%d)", err, len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		cf, _, _ := strings.Cut(string(data), "\n----------\n")
		global, site := authgateBlocks(cf)
		for _, g := range global {
			f.Add(g, "")
		}
		for _, s := range site {
			f.Add("", s)
		}
	}
	for _, s := range [][2]string{
		{"", ""},
		{"storage redis rediss+cluster://u:p@n1:7000,n2:7001/0", "public /a* /b"},
		{"storage redis redis://:pw@[::1]:6379/2?dial_timeout=2s", "task_url reset-password https://x.example/reset"},
		{"storage file {env.HOME}/db", `prefix "/__a g"`},
		{"email smtp {\n\taddress {env.SMTP}\n\tfrom {env.FROM}\n}", "sign_in_url {http.request.host}"},
		{"password {\n\tbreach hibp https://h.example\n\tbreach_on_error accept\n}", "}\nreverse_proxy 127.0.0.1:9\nauthgate {"},
		{"lockout 100 1d\ncode_ttl 24h\ncode_max_attempts 5", "public\n"},
		{"token_lifetime 1ns\nsession_lifetime 1ns", "prefix /\n"},
		{"encryption_key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {env.OLD}", "identity_headers user_id"},
		{"mfa {\n\ttotp on\n\trequired on\n\tissuer Example\n}", "identity_headers"},
		{"mfa", "identity_headers email email"},
		{"app_name \"\"", "task_url a b\ntask_url a c"},
		{"}\nauthgate", "authgate"},
		{"email log {\n}", "public {\n}"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, global, site string) {
		if readsFiles(global) || readsFiles(site) {
			t.Skip("the body could read files")
		}
		for _, text := range []string{
			"{\n\tauthgate {\n" + global + "\n\t}\n}\n\n:8080 {\n\tauthgate\n}\n",
			"{\n\tauthgate\n}\n\n:8080 {\n\tauthgate {\n" + site + "\n\t}\n}\n",
		} {
			out, err := fuzzAdapt(t, text)
			if err != nil {
				continue
			}
			checkAdapted(t, text, out)
		}
	})
}

// checkAdapted decodes the authgate app and handlers of an adapted config
// and checks them.
func checkAdapted(t *testing.T, text string, out []byte) {
	t.Helper()
	var cfg struct {
		Apps map[string]json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("adapted config of %q does not decode: %v\n%s", text, err, out)
	}
	if raw, ok := cfg.Apps["authgate"]; ok {
		var app App
		roundTrip(t, text, "app", raw, &app)
		if err := app.Validate(); err != nil {
			t.Fatalf("adapted app of %q fails Validate: %v\n%s", text, err, raw)
		}
	}
	var handlers []json.RawMessage
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == "authgate" {
				handlers = append(handlers, mustJSON(t, v))
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	if raw := cfg.Apps["http"]; raw != nil {
		var tree any
		if err := json.Unmarshal(raw, &tree); err != nil {
			t.Fatalf("adapted http app of %q does not decode: %v", text, err)
		}
		walk(tree)
	}
	for _, raw := range handlers {
		var h struct {
			Handler
			Module string `json:"handler"`
		}
		roundTrip(t, text, "handler", raw, &h)
		if err := h.Validate(); err != nil {
			t.Fatalf("adapted handler of %q fails Validate: %v\n%s", text, err, raw)
		}
	}
}

// roundTrip decodes raw into v without unknown fields and wants it to
// encode back to the same JSON.
func roundTrip(t *testing.T, text, what string, raw json.RawMessage, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("adapted %s of %q does not decode: %v\n%s", what, text, err, raw)
	}
	back, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("adapted %s of %q does not encode: %v", what, text, err)
	}
	if want, got := canonicalJSON(t, raw), canonicalJSON(t, back); want != got {
		t.Fatalf("adapted %s of %q changes on a round trip:\n  %s\n  %s", what, text, want, got)
	}
}

// canonicalJSON re-encodes JSON with sorted keys and numbers as written.
func canonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return string(mustJSON(t, v))
}

// secretLines are global-option bodies with a secret in each place the
// Caddyfile takes one (%s: the secret, %x: a further word on its line).
var secretLines = []string{
	"email smtp {\n\taddress h:25\n\tfrom a@b.co\n\tusername u\n\tpassword %s %x\n}",
	"email smtp {\n\taddress h:25\n\tusername u\n\tpassword %s %x\n}",
	"sms twilio {\n\taccount_sid AC1\n\tauth_token %s %x\n\tfrom +15555550100\n}",
	"sms twilio {\n\tauth_token %s %x\n}",
	"encryption_key %s %x",
	"encryption_key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= %s %x",
	"storage redis redis://u:%s@h:6379 %x",
	"storage redis redis+sentinel://:%s@h1,h2/m %x",
	"storage redis redis+sentinel://h/m?sentinel_password=%s %x",
}

// FuzzCaddyfileSecret puts arbitrary secrets (and an arbitrary further
// word after them on the line) where the authgate global option takes an
// SMTP password, a Twilio auth token, an encryption key or a Redis URL's
// password: `caddy adapt`, `caddy validate` and `caddy run` print the
// error, so no error may contain the secret, raw or percent-decoded.
func FuzzCaddyfileSecret(f *testing.F) {
	for i := range secretLines {
		for _, s := range [][2]string{
			{"hunter22", ""}, {"hunter22", "extra"}, {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ""},
			{"p@ss/w?rd", ""}, {"p%zzword", "x"}, {"pass:word@evil", ""}, {"{env.SECRET}", ""},
		} {
			f.Add(s[0], s[1], uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, secret, extra string, where uint8) {
		if len(secret) < 6 || strings.ContainsAny(secret, " \t\r\n\"'`{}#<>\\") || !isWord(extra) || readsFiles(secret+extra) {
			t.Skip("not one bare word")
		}
		line := secretLines[int(where)%len(secretLines)]
		text := func(s string) string {
			body := strings.NewReplacer("%s", s, "%x", extra).Replace(line)
			return "{\n\tauthgate {\n" + body + "\n\t}\n}\n\n:8080 {\n\tauthgate\n}\n"
		}
		_, err := fuzzAdapt(t, text(secret))
		if err == nil {
			return
		}
		forms := []string{secret}
		if d, derr := url.PathUnescape(secret); derr == nil && len(d) >= 6 && d != secret {
			forms = append(forms, d)
		}
		for _, s := range forms {
			if !strings.Contains(err.Error(), s) {
				continue
			}
			// The secret's text may be in the message for another reason
			// (a word of the fixed lines): then it is there with a
			// stand-in secret too.
			if _, err2 := fuzzAdapt(t, text("Zq9xW2")); err2 != nil && strings.Contains(err2.Error(), s) {
				continue
			}
			t.Fatalf("error for secret %q in %q contains %q: %v", secret, line, s, err)
		}
	})
}

// isWord reports whether s is empty or one plain Caddyfile word.
func isWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/=+-", r)) {
			return false
		}
	}
	return true
}
