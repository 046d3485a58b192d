package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// Inside the prefix, what no endpoint serves gets the Clerk envelope
// (issue 9 §6): 404 resource_not_found for an unknown path, 405
// method_not_allowed for a known path with another method, and a
// _method other than DELETE, PATCH or PUT is refused, never served.
func TestPrefixAnswersUnknownPathsAndMethodsWithTheEnvelope(t *testing.T) {
	b := newEnv(t).browser()
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/__authgate/nope", 404, "resource_not_found", ""},
		{http.MethodGet, "/__authgate", 404, "resource_not_found", ""},
		{http.MethodGet, "/__authgate/v1/nope", 404, "resource_not_found", ""},
		{http.MethodPost, "/__authgate/v1/client/sign_ins/sia_x/nope", 404, "resource_not_found", ""},
		{http.MethodGet, "/__authgate/v1/client/", 404, "resource_not_found", ""},
		{http.MethodPatch, "/__authgate/v1/client", 405, "method_not_allowed", "DELETE, GET, HEAD, POST, PUT"},
		{http.MethodGet, "/__authgate/v1/client/sign_ins/sia_x/attempt_first_factor", 405, "method_not_allowed", "POST"},
		{http.MethodPut, "/__authgate/.well-known/jwks.json", 405, "method_not_allowed", "GET, HEAD"},
		{http.MethodDelete, "/__authgate/sign-in", 405, "method_not_allowed", "GET, HEAD, POST"},
		{http.MethodPost, "/__authgate/v1/environment", 405, "method_not_allowed", "GET, HEAD, PATCH"},
		{http.MethodPost, "/__authgate/v1/client?_method=TRACE", 405, "method_not_allowed", ""},
		{http.MethodPost, "/__authgate/v1/client?_method=get", 405, "method_not_allowed", ""},
		{http.MethodPost, "/__authgate/v1/client?_method=", 405, "method_not_allowed", ""},
		{http.MethodPost, "/__authgate/v1/client?_method=DELETE&_method=TRACE", 405, "method_not_allowed", ""},
		{http.MethodPost, "/__authgate/v1/client?%5Fmethod=TRACE", 405, "method_not_allowed", ""},
		{http.MethodGet, "/__authgate/v1/client?_method=OPTIONS", 405, "method_not_allowed", ""},
	} {
		r := b.do(tc.method, tc.path, nil, nil)
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s %s: %d %q, want %d %q; body %s", tc.method, tc.path, r.status, r.errCode(), tc.status, tc.code, r.body)
			continue
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if c := r.header.Get("Set-Cookie"); strings.Contains(c, handlers.CookieClient+"=") {
			t.Errorf("%s %s: a refused request created a client", tc.method, tc.path)
		}
	}
	// The allowed overrides work in any case; the pages stay HTML.
	r := b.do(http.MethodPost, "/__authgate/v1/environment?_method=patch", nil, nil)
	if r.status != 200 || r.json["object"] != "environment" {
		t.Fatalf("POST ?_method=patch: %d %s", r.status, r.body)
	}
	r = b.do(http.MethodGet, "/__authgate/sign-in", nil, map[string]string{"Accept": "text/html"})
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

// JSON answers over https carry the same HSTS as the pages; plain http
// gets none.
func TestAPIAnswersCarryHSTSOverHTTPS(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/__authgate/v1/environment"},
		{http.MethodGet, "/__authgate/v1/client"},
		{http.MethodGet, "/__authgate/v1/jwks"},
		{http.MethodPost, "/__authgate/v1/client/sign_ins"}, // refused: no Origin
		{http.MethodGet, "/__authgate/v1/nope"},
		{http.MethodGet, "/__authgate/sign-in"},
	} {
		for _, scheme := range []string{"https", "http"} {
			rec := httptest.NewRecorder()
			e.srv.ServeBuiltin(rec, httptest.NewRequest(tc.method, scheme+"://app.example.com"+tc.path, nil))
			got := rec.Header().Get("Strict-Transport-Security")
			want := ""
			if scheme == "https" {
				want = "max-age=31536000"
			}
			if got != want {
				t.Errorf("%s %s over %s: %d, HSTS %q, want %q", tc.method, tc.path, scheme, rec.Code, got, want)
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("%s %s: not JSON: %s", tc.method, tc.path, rec.Body)
			}
		}
	}
}
