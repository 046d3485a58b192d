package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/defaults"
)

const (
	defaultPort         = "6379"
	defaultSentinelPort = "26379"
)

type urlKind int

const (
	kindSingle urlKind = iota
	kindSentinel
	kindCluster
)

// URLError is an error of ParseURL. Reason never includes a password, so
// callers can show it (`caddy validate` does, after its own prefix).
type URLError struct {
	Reason string
}

func (e *URLError) Error() string { return "redis: parse url: " + e.Reason }

func urlErr(format string, a ...any) error {
	return &URLError{Reason: fmt.Sprintf(format, a...)}
}

// ParseURL turns a connection URL (see the package documentation for the
// three accepted forms) into options for goredis.NewUniversalClient. The
// options select the single-node, Sentinel or Cluster client accordingly.
// Error messages never include the password.
func ParseURL(rawURL string) (*goredis.UniversalOptions, error) {
	opts, err := parseURL(rawURL)
	if err != nil && strings.Contains(rawURL, "@") {
		// A password with an unencoded '/', '?' or '@' splits the URL in
		// the wrong places; the pieces quoted in the detailed error could
		// be parts of it. Say what to do instead.
		return nil, urlErr("malformed URL with credentials (percent-encode '/', '?', '#' and '@' in the user name and password)")
	}
	return opts, err
}

func parseURL(rawURL string) (*goredis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, urlErr("missing scheme (want redis://, rediss://, redis+sentinel:// or redis+cluster://)")
	}
	kind, useTLS, err := parseScheme(scheme)
	if err != nil {
		return nil, err
	}
	if strings.Contains(rest, "#") {
		return nil, urlErr("fragments (#) are not allowed; percent-encode '#' in passwords as %%23")
	}

	authority, pathQuery := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, pathQuery = rest[:i], rest[i:]
	}
	// Fail fast when Redis is down: the gate answers 503 at once instead
	// of retrying for seconds on every request. Query options override.
	opts := &goredis.UniversalOptions{
		DialerRetries: 1,
		MaxRetries:    1,
		DialTimeout:   defaults.RedisDialTimeout,
		// go-redis's own defaults (5 s per read or write, 6 s of pool
		// wait) let one hung server hold a request for 5-10 s, more
		// across a retry; these bound a paused Redis to about a second
		// per command even without a caller deadline.
		ReadTimeout:  defaults.RedisReadTimeout,
		WriteTimeout: defaults.RedisWriteTimeout,
		PoolTimeout:  defaults.RedisPoolTimeout,
		// Without this go-redis does its socket I/O under a background
		// context, bounded by its own timeouts only, so a caller's
		// shorter deadline (store/guard's, the gate's budget) could not
		// cut a hung read short.
		ContextTimeoutEnabled: true,
	}

	hosts := authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user, pass, err := parseUserinfo(authority[:at])
		if err != nil {
			return nil, err
		}
		opts.Username, opts.Password = user, pass
		hosts = authority[at+1:]
	}
	if opts.Addrs, err = parseAddrs(hosts, scheme, kind); err != nil {
		return nil, err
	}

	pq, err := url.Parse("x://h" + pathQuery)
	if err != nil {
		// url.Error would quote the query, which may hold a password.
		return nil, urlErr("malformed path or query")
	}
	segs, err := pathSegments(pq.EscapedPath())
	if err != nil {
		return nil, err
	}
	if err := applyPath(opts, segs, kind); err != nil {
		return nil, err
	}

	query, err := url.ParseQuery(pq.RawQuery)
	if err != nil {
		return nil, urlErr("bad percent-encoding in the query")
	}
	if err := applyQuery(opts, query, kind); err != nil {
		return nil, err
	}
	if useTLS {
		// ServerName stays empty: crypto/tls then verifies each connection
		// against the host it dials, which is right for several hosts.
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opts, nil
}

// parseScheme maps the URL scheme to the client kind; "rediss" in place
// of "redis" asks for TLS in every form.
func parseScheme(scheme string) (kind urlKind, useTLS bool, err error) {
	base := strings.ToLower(scheme)
	if rest, ok := strings.CutPrefix(base, "rediss"); ok {
		base, useTLS = "redis"+rest, true
	}
	switch base {
	case "redis":
		return kindSingle, useTLS, nil
	case "redis+sentinel":
		return kindSentinel, useTLS, nil
	case "redis+cluster":
		return kindCluster, useTLS, nil
	}
	return 0, false, urlErr("unsupported URL scheme %q (want redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)", scheme)
}

// parseAddrs parses the host list and checks its length against the
// kind: a single node takes one host only, as several hosts mean the user
// wanted Cluster or Sentinel. No form has a default host (the package
// grammar names one; `caddy validate` refused none before the server
// would). scheme is only for the error message.
func parseAddrs(hosts, scheme string, kind urlKind) ([]string, error) {
	port := defaultPort
	if kind == kindSentinel {
		port = defaultSentinelPort
	}
	addrs, err := parseHosts(hosts, port)
	if err != nil {
		return nil, err
	}
	if kind != kindSingle {
		if len(addrs) == 0 {
			return nil, urlErr("%s:// needs at least one host", scheme)
		}
		return addrs, nil
	}
	if len(addrs) == 0 {
		return nil, urlErr("the URL has no host")
	}
	if len(addrs) > 1 {
		return nil, urlErr("several hosts need redis+cluster:// or redis+sentinel://")
	}
	return addrs, nil
}

// pathSegments splits the escaped path into its non-empty segments,
// decoding each one on its own so that a percent-encoded '/' (as in a
// Sentinel master name) stays inside its segment.
func pathSegments(escaped string) ([]string, error) {
	var segs []string
	for _, raw := range strings.Split(escaped, "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, urlErr("bad percent-encoding in the path")
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// applyPath sets what the path means for each kind: /db for a single
// node, /master[/db] for Sentinel, and nothing (or /0) for Cluster.
func applyPath(opts *goredis.UniversalOptions, segs []string, kind urlKind) error {
	var db string
	switch kind {
	case kindSingle:
		if len(segs) > 1 {
			return urlErr("path must be /db")
		}
		if len(segs) == 1 {
			db = segs[0]
		}
	case kindSentinel:
		if len(segs) == 0 || len(segs) > 2 {
			return urlErr("sentinel path must be /master or /master/db")
		}
		opts.MasterName = segs[0]
		if len(segs) == 2 {
			db = segs[1]
		}
	case kindCluster:
		if len(segs) > 1 || (len(segs) == 1 && segs[0] != "0") {
			return urlErr("cluster urls take no path (Redis Cluster has only database 0)")
		}
		opts.IsClusterMode = true
	}
	if db == "" {
		return nil
	}
	var err error
	opts.DB, err = parseDB(db)
	return err
}

// parseUserinfo splits "user:password" or ":password", percent-decoded.
func parseUserinfo(s string) (user, pass string, err error) {
	u, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", urlErr("credentials must be user:password or :password")
	}
	if user, err = url.PathUnescape(u); err != nil {
		return "", "", urlErr("bad percent-encoding in the user name")
	}
	if pass, err = url.PathUnescape(p); err != nil {
		return "", "", urlErr("bad percent-encoding in the password")
	}
	return user, pass, nil
}

// parseHosts splits a comma-separated host list into host:port addresses.
// Its errors never quote what stands after a ':': in a URL that lacks the
// '@' after user:password (redis://user:secret) the password is there.
func parseHosts(s, defPort string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, h := range strings.Split(s, ",") {
		host, port, err := splitHost(h, defPort)
		if err != nil {
			return nil, err
		}
		if host == "" {
			return nil, urlErr("empty host name (if this is user:password, add '@' and the host)")
		}
		if err := checkHostName(host); err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, urlErr("bad port for host %q (if this is user:password, add '@' and the host)", host)
		}
		// The dialer takes a zone as %zone, a URL writes it %25zone.
		out = append(out, net.JoinHostPort(strings.Replace(host, "%25", "%", 1), port))
	}
	return out, nil
}

// splitHost splits host[:port] or [ipv6][:port]; port is defPort when
// absent.
func splitHost(h, defPort string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(h, "["):
		end := strings.Index(h, "]")
		if end < 0 {
			return "", "", urlErr("unclosed '[' in a host")
		}
		switch after := h[end+1:]; {
		case after == "":
			return h[1:end], defPort, nil
		case strings.HasPrefix(after, ":"):
			return h[1:end], after[1:], nil
		}
		return "", "", urlErr("bad host %q: only :port may follow ']'", h[:end+1])
	case strings.Count(h, ":") == 1:
		host, port, _ = strings.Cut(h, ":")
		return host, port, nil
	case strings.Contains(h, ":"):
		return "", "", urlErr("a host with several ':' must be an IPv6 address in brackets (if this is user:password, add '@' and the host)")
	}
	return h, defPort, nil
}

// checkHostName accepts a DNS name (ASCII: an international name in its
// xn-- form) or an IP address; an IPv6 address may carry a zone, which a
// URL writes %25zone (RFC 6874: [fe80::1%25eth0]). A refusal names only
// the first bad character, never the host: text that is no host name may
// be a misplaced option (redis://h&sentinel_password=secret, a '?'
// missing) and the error goes to logs and to `caddy validate` output.
func checkHostName(host string) error {
	if ip, zone, ok := strings.Cut(host, "%"); ok {
		a := net.ParseIP(ip)
		if a == nil || a.To4() != nil || !strings.HasPrefix(zone, "25") || len(zone) == 2 || hostChars(zone) >= 0 {
			return urlErr("bad host name: only an IPv6 address in brackets takes a zone, written %%25 and its name ([fe80::1%%25eth0])")
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if i := hostChars(host); i >= 0 {
		r, _ := utf8.DecodeRuneInString(host[i:])
		return urlErr("bad host name: %q is not allowed in a host (options go after '?', and '@' ends user:password)", r)
	}
	return nil
}

// hostChars returns the index of the first byte of s that is not a
// letter, digit, '.', '-' or '_', or -1.
func hostChars(s string) int {
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	})
}

// parseDB reads the database number. Only a number is quoted back in its
// error, for the reason of checkHostName.
func parseDB(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err == nil && n >= 0:
		return n, nil
	case err == nil || errors.Is(err, strconv.ErrRange):
		return 0, urlErr("bad database number %q (want 0 or more)", s)
	}
	return 0, urlErr("bad database number: want a whole number 0 or more after the host's '/' (options go after '?')")
}

// applyQuery sets the documented options and rejects any other.
func applyQuery(o *goredis.UniversalOptions, q url.Values, kind urlKind) error {
	durations := map[string]*time.Duration{
		"dial_timeout": &o.DialTimeout, "read_timeout": &o.ReadTimeout,
		"write_timeout": &o.WriteTimeout, "pool_timeout": &o.PoolTimeout,
	}
	counts := map[string]*int{"pool_size": &o.PoolSize, "min_idle_conns": &o.MinIdleConns, "dialer_retries": &o.DialerRetries}
	for name, vals := range q {
		if len(vals) != 1 {
			return urlErr("option %s given %d times", name, len(vals))
		}
		v := vals[0]
		var err error
		if d, ok := durations[name]; ok {
			*d, err = parseDuration(v)
		} else if n, ok := counts[name]; ok {
			*n, err = parseCount(v)
		} else if err = applyOption(o, name, v, kind); errors.As(err, new(*URLError)) {
			return err
		}
		if err != nil {
			return urlErr("option %s=%q: %v", name, v, err)
		}
	}
	return nil
}

// applyOption sets an option that is neither a duration nor a count. An
// option it does not know, or one for another kind, is a *URLError; a
// bad value is a plain error for applyQuery to name.
func applyOption(o *goredis.UniversalOptions, name, v string, kind urlKind) error {
	var err error
	switch name {
	case "max_retries":
		o.MaxRetries, err = strconv.Atoi(v)
		if err == nil && o.MaxRetries < -1 {
			err = errors.New("must be -1 or more")
		}
	case "client_name":
		o.ClientName = v
	case "protocol":
		o.Protocol, err = strconv.Atoi(v)
		if err == nil && o.Protocol != 2 && o.Protocol != 3 {
			err = errors.New("must be 2 or 3")
		}
	case "sentinel_username", "sentinel_password":
		if kind != kindSentinel {
			return urlErr("option %s is only for redis+sentinel://", name)
		}
		if name == "sentinel_username" {
			o.SentinelUsername = v
		} else {
			o.SentinelPassword = v
		}
	default:
		return urlErr("unknown option %q", name)
	}
	return err
}

// parseDuration accepts a Go duration ("1.5s") or whole seconds ("3").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration such as 500ms or whole seconds")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

func parseCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errors.New("want a non-negative integer")
	}
	return n, nil
}
