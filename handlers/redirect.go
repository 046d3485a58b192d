package handlers

import (
	"net/url"
	"strings"
)

// SafeRedirect returns raw when it is a same-origin relative path
// ("/path?query"), and fallback otherwise. Scheme-relative ("//host"),
// backslashes, schemes, control characters and encoded tricks are refused.
func SafeRedirect(raw, fallback string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' {
		return fallback
	}
	if strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return fallback
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	// "/%2F%2Fevil.com" decodes to "//evil.com" in some routers.
	if dec, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
		return fallback
	}
	return raw
}

// WithRedirect adds redirect_url=back to target's query.
func WithRedirect(target, back string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + "redirect_url=" + url.QueryEscape(back)
}
