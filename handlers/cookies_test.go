package handlers

import (
	"net/http"
	"slices"
	"testing"
)

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
			h := http.Header{}
			if tc.in != nil {
				h["Cookie"] = slices.Clone(tc.in)
			}
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
