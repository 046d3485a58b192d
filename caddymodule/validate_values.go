package caddymodule

// The checks of single values that the configuration checks in
// validate.go are made of: ranges, word lists, URLs, addresses, paths.
// Their errors never echo a value that may hold a secret.

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	redisstore "github.com/authgate/authgate/store/redis"
	"github.com/authgate/authgate/tasks"
)

// errNotPositive is the error for a duration, as written, that is not
// above zero.
func errNotPositive(written string) error {
	return fmt.Errorf("duration %q must be positive", written)
}

// formatDuration writes d the way a Caddyfile would: 48h, not 48h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// intRange is the range of an integer setting.
type intRange struct{ lo, hi int }

func (r intRange) check(n int) error {
	if n < r.lo || n > r.hi {
		return fmt.Errorf("%d is out of range [%d, %d]", n, r.lo, r.hi)
	}
	return nil
}

// oneOf is a setting that takes one of a few words.
type oneOf struct {
	what  string // "unknown mode": the error's words before the value
	words []string
}

func (o oneOf) check(v string) error {
	if slices.Contains(o.words, v) {
		return nil
	}
	last := len(o.words) - 1
	return fmt.Errorf("%s %q (want %s or %s)", o.what, v, strings.Join(o.words[:last], ", "), o.words[last])
}

// hasPlaceholder reports whether v holds a Caddy placeholder such as
// {env.NAME}; such values are checked only once expanded.
func hasPlaceholder(v string) bool {
	i := strings.IndexByte(v, '{')
	return i >= 0 && strings.IndexByte(v[i:], '}') > 1
}

// validateIssuer checks that v is an absolute http(s) origin such as
// https://app.example.com or http://localhost:8080: no path (not even
// "/"), query, fragment or user info.
func validateIssuer(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q is not an absolute http or https origin", v)
	}
	if u.User != nil || u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.Contains(v, "#") {
		return fmt.Errorf("%q must be an origin only, like https://app.example.com (no path, query, fragment or user info)", v)
	}
	return nil
}

// validateHTTPURL checks that v is an absolute http or https URL with a
// host. The value is not echoed: such URLs may carry credentials.
func validateHTTPURL(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("the URL must be absolute with scheme http or https and a host")
	}
	return nil
}

// validateRedisURL checks a redis storage URL with the parser the store
// uses (store/redis.ParseURL), so that validation and start-up have one
// rule. The parser's reasons never hold a password.
func validateRedisURL(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	_, err := redisstore.ParseURL(v)
	if ue := (*redisstore.URLError)(nil); errors.As(err, &ue) {
		// The field error already says "storage redis".
		return errors.New(ue.Reason)
	}
	return err
}

// validateHostPort checks a host:port address with a numeric port.
func validateHostPort(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", v)
	}
	return nil
}

// validateMailbox checks an RFC 5322 address, optionally with a display
// name: no-reply@example.com or "Example <no-reply@example.com>".
func validateMailbox(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not an email address: %w", v, err)
	}
	return nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validateE164 checks a phone number in E.164 form (+ and 7 to 15 digits).
func validateE164(v string) error {
	if hasPlaceholder(v) || e164.MatchString(v) {
		return nil
	}
	return fmt.Errorf("%q is not an E.164 phone number like +15555550100", v)
}

// validatePrefix checks the path prefix of the built-in API and pages: it
// starts with /, has no trailing slash, and holds only plain path segments
// (no empty, "." or ".." segment, no query, fragment, wildcard, backslash
// or placeholder).
func validatePrefix(v string) error {
	if !strings.HasPrefix(v, "/") || v == "/" {
		return fmt.Errorf("%q must start with / and name a path below the root", v)
	}
	if strings.HasSuffix(v, "/") {
		return fmt.Errorf("%q must not end with /", v)
	}
	if strings.ContainsAny(v, "?#*\\{}%") || containsSpaceOrControl(v) {
		return fmt.Errorf("%q must be a plain path (no ?, #, *, \\, {}, %% or spaces)", v)
	}
	for _, seg := range strings.Split(v[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q has an empty, . or .. path segment", v)
		}
	}
	return nil
}

// validateRedirectTarget checks a configured redirect destination
// (sign_in_url, after_sign_in_url, task URLs): either a path on this site
// that starts with a single / (not // or /\), or an absolute http(s) URL.
func validateRedirectTarget(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	if containsSpaceOrControl(v) || strings.Contains(v, "\\") {
		return fmt.Errorf("%q holds spaces, control characters or backslashes", v)
	}
	if strings.HasPrefix(v, "/") {
		if strings.HasPrefix(v, "//") {
			return fmt.Errorf("%q is a scheme-relative URL; write a path or an absolute URL", v)
		}
		if _, err := url.Parse(v); err != nil {
			return fmt.Errorf("%q does not parse as a path: %w", v, err)
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%q must be a path starting with / or an absolute http or https URL", v)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not hold user info", v)
	}
	return nil
}

// validateTOTPIssuer checks the name authenticator apps show: one line
// of at most maxAppNameLen bytes without ':', which separates the issuer
// from the account in an otpauth URI's label.
func validateTOTPIssuer(v string) error {
	if len(v) > maxAppNameLen || strings.ContainsAny(v, "\r\n:") {
		return fmt.Errorf("want one line of 1 to %d bytes without ':'", maxAppNameLen)
	}
	return nil
}

// validateTaskKey checks a session task key (the grammar is tasks.ValidKey).
func validateTaskKey(v string) error { return tasks.ValidKey(v) }

// validatePublicPattern checks a public path pattern: it starts with /,
// and * may appear only as its last character (a prefix match).
func validatePublicPattern(v string) error {
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q must start with /", v)
	}
	if i := strings.IndexByte(v, '*'); i >= 0 && i != len(v)-1 {
		return fmt.Errorf("%q may hold * only at its end", v)
	}
	if strings.ContainsAny(v, "?#\\") || containsSpaceOrControl(v) {
		return fmt.Errorf("%q must be a plain path (no ?, #, \\ or spaces)", v)
	}
	return nil
}

// containsSpaceOrControl reports whether v holds a space or a control
// character.
func containsSpaceOrControl(v string) bool {
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

// validateRegion checks an upper-case ISO 3166-1 alpha-2 region code
// against the regions libphonenumber has numbering plans for: the same
// table that later tells a number's region and type, so a code accepted
// here is one an SMS sign-up can match. (Its non-geographic "001" and
// unknown "ZZ" are not regions and are refused.)
func validateRegion(v string) error {
	if len(v) != 2 || !phonenumbers.GetSupportedRegions()[v] {
		return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 region code with a known numbering plan (such as US, CA or GB)", v)
	}
	return nil
}
