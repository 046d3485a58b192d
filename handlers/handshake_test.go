package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
)

// The handshake of Clerk's backend SDKs (with proxyUrl at the prefix)
// sends the browser back to redirect_url, a URL of this site only.
func TestHandshakeRedirectsBackToThisSiteOnly(t *testing.T) {
	e, b := aliceSignedIn(t)
	for _, tc := range []struct{ redirect, want string }{
		{e.http.URL + "/reports/q3?x=1&y=%2F", "/reports/q3?x=1&y=%2F"},
		{e.http.URL, "/"},
		{"https://evil.example/reports", "/"},
		{"http://evil.example" + e.http.URL[len("http://127.0.0.1"):] + "/x", "/"},
		{e.http.URL + "//evil.example/x", "/"},
		{"/relative/is/not/what/the/sdk/sends", "/"},
		{"", "/"},
	} {
		q := url.Values{"redirect_url": {tc.redirect}, "__clerk_hs_reason": {"primary-domain-cross-origin-sync"}, "format": {"nonce"}}
		r := b.get("/__authgate/v1/client/handshake?"+q.Encode(), navigation)
		if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != tc.want || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("redirect_url %q: %d Location %q Cache-Control %q, want 307 %q", tc.redirect, r.status,
				r.header.Get("Location"), r.header.Get("Cache-Control"), tc.want)
		}
	}
}
