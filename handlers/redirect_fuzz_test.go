package handlers

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeRedirect(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/orders/7?x=1", "/orders/7?x=1"},
		{"/", "/"},
		{"", "/home"},
		{"//evil.com", "/home"},
		{"/\\evil.com", "/home"},
		{"\\\\evil.com", "/home"},
		{"https:evil.com", "/home"},
		{"https://good.com@evil.com", "/home"},
		{"https://good.com.evil.com", "/home"},
		{"http://good.com", "/home"},
		{"/%2F%2Fevil.com", "/home"},
		{"/%2f%2fevil.com", "/home"},
		{"javascript:alert(1)", "/home"},
		{"data:text/html,x", "/home"},
		{"/a\r\nSet-Cookie: x=1", "/home"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/" + strings.Repeat("a", 3000), "/home"},
	} {
		if got := SafeRedirect(tc.in, "/home"); got != tc.want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSafeRedirect (open redirects): SafeRedirect never panics and
// returns either the fallback or its input unchanged, and what it accepts
// is a same-origin relative path: it starts with one "/" (not "//"), has
// no backslash or control character, and neither url.Parse of it nor of
// its percent-decoded form finds a scheme, a host or user info, so no
// browser or router that decodes it once sends the user to another
// origin.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{
		"/orders/7?x=1", "/", "/a/b#frag", "/%E2%9C%93", "/a?next=//evil.com",
		"", "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\t/evil.com",
		"https:evil.com", "https://good.com@evil.com", "http://good.com", "javascript:alert(1)",
		"/%2F%2Fevil.com", "/%2f%2fevil.com", "/%5Cevil.com", "/%5c%5cevil.com", "/%252F%252Fevil.com",
		"/a\r\nSet-Cookie: x=1", "/%0d%0aSet-Cookie:x", "/%", "/%zz", "/%00", "/\x7f",
		"/@evil.com", "/.//evil.com", "/..//evil.com", "/%2e%2e/%2fevil.com",
		"/:evil.com", "/a:b", "/http://evil.com", "/?//evil.com", "/#//evil.com",
		"/\u3002evil.com", "/\uff0f\uff0fevil.com", "/" + strings.Repeat("a", 2047),
	} {
		f.Add(s)
	}
	const fallback = "/fallback"
	f.Fuzz(func(t *testing.T, raw string) {
		got := SafeRedirect(raw, fallback)
		if got == fallback && raw != fallback {
			return
		}
		if got != raw {
			t.Fatalf("SafeRedirect(%q) = %q: neither the input nor the fallback", raw, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.Contains(got, "\\") {
			t.Fatalf("SafeRedirect accepted %q, which is not a rooted path", got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("SafeRedirect accepted %q, which has control character %U", got, r)
			}
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("SafeRedirect accepted %q, which url.Parse refuses: %v", got, err)
		}
		checkSameOrigin(t, got, "", u)
		// Decoded once, as a router or a second redirect would.
		dec, err := url.PathUnescape(u.EscapedPath())
		if err != nil {
			t.Fatalf("SafeRedirect accepted %q, whose path does not decode: %v", got, err)
		}
		if strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
			t.Fatalf("SafeRedirect accepted %q, whose path decodes to %q", got, dec)
		}
		if whole, err := url.PathUnescape(got); err == nil {
			if du, err := url.Parse(whole); err == nil {
				checkSameOrigin(t, got, whole, du)
			}
		}
	})
}

// checkSameOrigin fails if u (parsed from raw, or from its decoded form
// dec) names a scheme, a host or user info, or is opaque.
func checkSameOrigin(t *testing.T, raw, dec string, u *url.URL) {
	t.Helper()
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		t.Fatalf("SafeRedirect accepted %q, which (decoded: %q) parses as scheme %q host %q user %v opaque %q",
			raw, dec, u.Scheme, u.Host, u.User, u.Opaque)
	}
}
