package handlers

import (
	"fmt"
	"net/http"
	"strings"
)

// Identity headers set for the upstream.
const (
	HeaderUserID    = "X-Authgate-User-Id"
	HeaderSessionID = "X-Authgate-Session-Id"
	HeaderEmail     = "X-Authgate-Email"
)

// identityHeaderPrefix is reserved for the gateway: every request header
// under it is removed before the gate sets its own.
const identityHeaderPrefix = "X-Authgate-"

// Names of the identity headers in Config.IdentityHeaders (and the
// Caddyfile's identity_headers), in the order the gate sets them.
const (
	IdentityUserID    = "user_id"
	IdentitySessionID = "session_id"
	IdentityEmail     = "email"
)

// identityHeaders are the headers, by name; the bit of each in a
// headerSet is its index.
var identityHeaders = [...]struct{ name, header string }{
	{IdentityUserID, HeaderUserID},
	{IdentitySessionID, HeaderSessionID},
	{IdentityEmail, HeaderEmail},
}

// headerSet is the set of identity headers a site sends upstream.
type headerSet uint8

const allIdentityHeaders headerSet = 1<<len(identityHeaders) - 1

// CheckIdentityHeaders checks a list of identity header names: each one
// of user_id, session_id and email, each at most once. An empty list is
// valid (no identity header is sent).
func CheckIdentityHeaders(names []string) error {
	_, err := parseHeaderSet(names)
	return err
}

// parseHeaderSet turns names into a headerSet (nil means every header)
// and reports the first name that is unknown or repeated; the set holds
// every known name regardless.
func parseHeaderSet(names []string) (headerSet, error) {
	if names == nil {
		return allIdentityHeaders, nil
	}
	var set headerSet
	var err error
	for _, name := range names {
		bit, ok := headerBit(name)
		switch {
		case !ok && err == nil:
			err = fmt.Errorf("unknown header %q (want %s)", name, identityHeaderNames())
		case set&bit != 0 && err == nil:
			err = fmt.Errorf("header %q given more than once", name)
		}
		set |= bit
	}
	return set, err
}

func headerBit(name string) (headerSet, bool) {
	for i, h := range identityHeaders {
		if h.name == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// identityHeaderNames is "user_id, session_id or email", for errors.
func identityHeaderNames() string {
	var b strings.Builder
	for i, h := range identityHeaders {
		switch {
		case i == len(identityHeaders)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(h.name)
	}
	return b.String()
}

// set writes id's identity headers of the set into h: the map entries
// directly (the keys are canonical already), every value a one-element
// slice of one backing array, so the whole costs one allocation however
// many headers go. A header whose value would be empty is not sent. The
// slices are capped at one element, so that a later Add to one header
// cannot overwrite another's value.
func (set headerSet) set(h http.Header, id *Identity) {
	vals := [len(identityHeaders)]string{id.UserID, id.SessionID, id.Email}
	n := 0
	for i, v := range vals {
		if set.sends(i, v) {
			n++
		}
	}
	if n == 0 {
		return
	}
	backing := make([]string, n)
	j := 0
	for i, v := range vals {
		if set.sends(i, v) {
			backing[j] = v
			h[identityHeaders[i].header] = backing[j : j+1 : j+1]
			j++
		}
	}
}

// sends reports whether the i-th identity header goes upstream with
// value v.
func (set headerSet) sends(i int, v string) bool { return set&(1<<i) != 0 && v != "" }

// StripIdentity removes identity headers a client may have sent: the
// X-Authgate- prefix as a whole is reserved for the gateway, so every
// header under it goes, in whatever case it was sent (net/http
// canonicalises the keys it reads, but a handler before the gate may
// have added one as is), and with '_' for '-' too (X_Authgate_User_Id):
// CGI-style upstreams read both as HTTP_X_AUTHGATE_USER_ID.
func StripIdentity(r *http.Request) {
	for k := range r.Header {
		if identityKey(k) {
			delete(r.Header, k)
		}
	}
}

// identityKey reports whether the header key k starts with
// identityHeaderPrefix, ignoring case and reading '_' as '-'.
func identityKey(k string) bool {
	if len(k) < len(identityHeaderPrefix) || k[0]|0x20 != 'x' {
		return false // most keys: one byte looked at
	}
	for i := 1; i < len(identityHeaderPrefix); i++ {
		c, want := k[i], identityHeaderPrefix[i]
		switch {
		case want == '-':
			if c != '-' && c != '_' {
				return false
			}
		case c|0x20 != want|0x20:
			return false
		}
	}
	return true
}
