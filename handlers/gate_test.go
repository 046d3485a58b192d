package handlers_test

import (
	"net/http"
	"testing"
)

// The gate: public paths that cannot be reached through encoded tricks,
// and tokens bound to their origin.

func TestPublicPathsCannotBeReachedThroughEncodedTricks(t *testing.T) {
	e := newEnv(t, func(o *envOpt) { o.public = []string{"/assets/*", "/healthz"} })
	b := e.browser()
	if r := b.get("/assets/app.css", nil); r.status != 200 {
		t.Fatalf("public path: %d", r.status)
	}
	for _, p := range []string{"/admin/..%2Fassets/x", "/assets/../admin", "/assets/..%2f..%2fadmin", "/admin%5c..%5cassets/x", "//assets/x", "/assets/./../admin"} {
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/", nil)
		req.URL.RawPath, req.URL.Path = "", ""
		req.URL.Opaque = p // send the path exactly as written
		res, err := b.c.Do(req)
		noErr(t, err)
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Errorf("%s passed the gate without a session", p)
		}
	}
}

func TestTokenOfOneOriginIsNotAcceptedAtAnother(t *testing.T) {
	e, _ := aliceEnv(t)
	b, r := e.aliceBrowser()
	sid := r.str("created_session_id")
	tok := b.post("/v1/client/sessions/"+sid+"/tokens", nil)
	jwt, _ := tok.json["jwt"].(string)
	if jwt == "" {
		t.Fatalf("no token: %s", tok.body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + jwt}
	anon := e.browser()
	if got := anon.get("/api", bearer); got.status != 200 {
		t.Fatalf("bearer at its own origin: %d", got.status)
	}
	other := map[string]string{"Authorization": "Bearer " + jwt, "Host": "other.example"}
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/api", nil)
	for k, v := range other {
		req.Header.Set(k, v)
	}
	req.Host = "other.example"
	res, err := anon.c.Do(req)
	noErr(t, err)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("token accepted for another issuer: %d", res.StatusCode)
	}
}

// Path parameters (;) and encoded dot segments never make a protected
// path public (issue 9 §6): an upstream that drops "..;" to ".." or
// decodes once more would serve /x, which is not public.
func TestPublicPathsIgnorePathParametersAndEncodedDots(t *testing.T) {
	e := newEnv(t, func(o *envOpt) { o.public = []string{"/assets/*"} })
	for _, tc := range []struct {
		path   string
		public bool
	}{
		{"/assets/app.css", true},
		{"/assets/img/logo.png", true},
		{"/assets/..;/x", false},
		{"/assets/%2e%2e/x", false},
		{"/assets/.%2e/x", false},
		{"/assets/%2E%2E%2Fx", false},
		{"/assets;/../x", false},
		{"/assets/app.css;x=1", false},
		{"/assets/%3B/../x", false},
		{"/assets/%252e%252e/x", false},
		{"/assets/%252e%252e%252fx", false},
		{"/assets/..%3B/x", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/", nil)
		req.URL.RawPath, req.URL.Path = "", ""
		req.URL.Opaque = tc.path // send the path exactly as written
		res, err := http.DefaultClient.Do(req)
		noErr(t, err)
		res.Body.Close()
		want := http.StatusUnauthorized
		if tc.public {
			want = http.StatusOK
			e.upstreamHeaders()
		}
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d (public %v)", tc.path, res.StatusCode, want, tc.public)
		}
	}
}
