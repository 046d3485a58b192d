package handlers

import (
	cryptotls "crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// cookieHeader is a header with lines as its Cookie lines (none if nil).
func cookieHeader(lines []string) http.Header {
	h := http.Header{}
	if lines != nil {
		h["Cookie"] = slices.Clone(lines)
	}
	return h
}

// The upstream never sees __client nor the CSRF cookie; every other
// cookie reaches it byte for byte (issue 9 §6).
func TestStripPrivateCookies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in, want  []string
		wantGone  bool
		unchanged bool
	}{
		{name: "no cookie header", wantGone: true},
		{name: "none private", in: []string{"a=1; __session=eyJ.x.y; theme=dark"}, unchanged: true},
		{name: "names that only look alike", in: []string{"__client_uat=1700000000; x__client=1; __clientx=2; authgate_csrf=3"}, unchanged: true},
		{name: "client in the middle", in: []string{"a=1; __client=abc; b=2"}, want: []string{"a=1; b=2"}},
		{name: "client first", in: []string{"__client=abc; __session=eyJ.x.y"}, want: []string{"__session=eyJ.x.y"}},
		{name: "client last", in: []string{"__session=eyJ.x.y; __client=abc"}, want: []string{"__session=eyJ.x.y"}},
		{name: "no spaces", in: []string{"a=1;__client=abc;b=2"}, want: []string{"a=1;b=2"}},
		{name: "odd spacing of the others kept", in: []string{"a=1;  b=2; __Host-authgate_csrf=v;   c=3"}, want: []string{"a=1;  b=2;   c=3"}},
		{name: "every private kind", in: []string{"__authgate_csrf=v; x=1; __Host-authgate_csrf=w; __client=c"}, want: []string{"x=1"}},
		{name: "spaces around the name", in: []string{" __client = abc ; a=1"}, want: []string{"a=1"}},
		{name: "only private", in: []string{"__authgate_csrf=v; __client=c"}, wantGone: true},
		{name: "several lines", in: []string{"a=1", "__client=abc", "b=2; __authgate_csrf=y", "__session=t"}, want: []string{"a=1", "b=2", "__session=t"}},
		{name: "several lines, all private", in: []string{"__client=abc", "__Host-authgate_csrf=y"}, wantGone: true},
		{name: "repeated client", in: []string{"__client=a; q=\"x y\"; __client=b"}, want: []string{"q=\"x y\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cookieHeader(tc.in)
			stripPrivateCookies(h)
			got, ok := h["Cookie"]
			switch {
			case tc.wantGone:
				if ok {
					t.Fatalf("Cookie = %q, want no header", got)
				}
			case tc.unchanged:
				if !slices.Equal(got, tc.in) {
					t.Fatalf("Cookie = %q, want it unchanged %q", got, tc.in)
				}
			default:
				if !slices.Equal(got, tc.want) {
					t.Fatalf("Cookie = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// On the hot path a header without a private cookie costs a scan, no
// allocation.
func TestStripPrivateCookiesAllocatesNothingWithoutThem(t *testing.T) {
	h := http.Header{"Cookie": {"__session=eyJhbGciOi.eyJzdWIiOi.c2ln; __client_uat=1700000000; theme=dark", "lang=en"}}
	want := slices.Clone(h["Cookie"])
	if n := testing.AllocsPerRun(100, func() { stripPrivateCookies(h) }); n != 0 {
		t.Fatalf("%v allocations per request without a private cookie", n)
	}
	if !slices.Equal(h["Cookie"], want) {
		t.Fatalf("Cookie changed to %q", h["Cookie"])
	}
}

// __client_uat is Secure over https, and never HttpOnly (clerk-js reads
// it from scripts).
func TestClientUATCookieAttributes(t *testing.T) {
	for _, tls := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodGet, "http://app.example.com/", nil)
		if tls {
			r.TLS = &cryptotls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		(&Server{}).setClientUAT(w, r, 1700000000)
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("tls %v: cookies %v", tls, cs)
		}
		c := cs[0]
		if c.Name != CookieClientUAT || c.Value != "1700000000" || c.Secure != tls || c.HttpOnly ||
			c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != clientUATMaxAge {
			t.Fatalf("tls %v: %s", tls, c)
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
		r.Header = cookieHeader(tc.headers)
		if got := cookieValue(r, CookieSession); got != tc.want {
			t.Errorf("cookieValue(%q) = %q, want %q", tc.headers, got, tc.want)
		}
	}
}

// The sign-in cookies the gate replaces leave the line; the pairs it
// sends go on the last line, as one Cookie line.
func TestStripAndAppendSignInCookies(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    drop
		in   []string
		want []string
	}{
		{"uat only", dropUAT, []string{"a=1; __client_uat=5; __session=t; __client=c"}, []string{"a=1; __session=t; __client_uat=9"}},
		{"both", dropUAT | dropSession, []string{"__session=t; a=1", "__client_uat=5"}, []string{"a=1; __client_uat=9"}},
		{"nothing left", dropUAT | dropSession, []string{"__session=t; __client_uat=5"}, []string{"__client_uat=9"}},
		{"no header", dropUAT, nil, []string{"__client_uat=9"}},
		{"look-alikes stay", dropUAT | dropSession, []string{"__session_x=1; __client_uat_abc=2"}, []string{"__session_x=1; __client_uat_abc=2; __client_uat=9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cookieHeader(tc.in)
			stripCookies(h, tc.d)
			appendCookie(h, "__client_uat=9")
			if !slices.Equal(h["Cookie"], tc.want) {
				t.Fatalf("Cookie = %q, want %q", h["Cookie"], tc.want)
			}
		})
	}
}

// uatFits is @clerk/backend's test: signed in, and not after the token.
func TestUATFits(t *testing.T) {
	for _, tc := range []struct {
		uat, iat int64
		want     bool
	}{{-1, 10, false}, {0, 10, false}, {1, 10, true}, {10, 10, true}, {11, 10, false}} {
		if got := uatFits(tc.uat, tc.iat); got != tc.want {
			t.Errorf("uatFits(%d, %d) = %v", tc.uat, tc.iat, got)
		}
	}
}
