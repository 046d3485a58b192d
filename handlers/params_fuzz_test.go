package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReadParams feeds arbitrary bodies through the form and JSON
// parsers: they must never panic, and what they accept is flat strings.
func FuzzReadParams(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "identifier=a%40b.c&password=x"},
		{"application/x-www-form-urlencoded", "code=1&code=2"},
		{"application/json", `{"identifier":"a@b.c","sign_out_of_other_sessions":true,"n":1.5}`},
		{"application/json", `{"code":["123456"]}`},
		{"application/json", `{"a":{"b":{}}}`},
		{"text/plain", "x"},
		{"", "%zz"},
	} {
		f.Add(seed.ct, seed.body)
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x?_method=DELETE", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		p, err := readParams(httptest.NewRecorder(), r)
		if err != nil {
			return
		}
		for k := range p {
			if k == "" && len(body) == 0 {
				t.Fatalf("empty key from empty body")
			}
		}
	})
}

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

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{[]string{"__session=abc.def.ghi"}, "abc.def.ghi"},
		{[]string{"a=1; __session=tok; b=2"}, "tok"},
		{[]string{"a=1", "__session=second-line"}, "second-line"},
		{[]string{`__session="quoted"`}, "quoted"},
		{[]string{"__session_x=nope; x__session=nope"}, ""},
		{[]string{"__session=bad value"}, ""},
		{[]string{"__session=bad\\value"}, ""},
		{nil, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, h := range tc.headers {
			r.Header.Add("Cookie", h)
		}
		if got := cookieValue(r, CookieSession); got != tc.want {
			t.Errorf("cookieValue(%q) = %q, want %q", tc.headers, got, tc.want)
		}
	}
}
