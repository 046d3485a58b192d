package redis

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// FuzzParseURL: ParseURL never panics; its errors never contain a
// password of the input (the user info's, raw or decoded, nor a
// sentinel_password option's), since they end up in logs and in
// `caddy validate` output; and what it accepts is coherent: one address
// or more, each host:port with a port in 1..65535, the client kind and
// TLS that the scheme asked for, and the user info's password decoded.
// The seeds are url_test.go's refused URLs and these.
func FuzzParseURL(f *testing.F) {
	for _, s := range slices.Concat(badURLs, secretURLs, []string{
		"redis://127.0.0.1:6380/2", "redis://localhost", "redis://", "redis://[::1]:7000/0",
		"rediss://alice:p%40ss%3Aw0rd@redis.example.com/1", "redis://:secret@h:1",
		"REDIS://h?dial_timeout=3&read_timeout=1.5s&write_timeout=250ms&pool_timeout=2s&pool_size=7&min_idle_conns=2&max_retries=-1&dialer_retries=2&client_name=gate&protocol=2",
		"redis+sentinel://:pw@s1:26380,s2,[::1]/mymaster/3?sentinel_password=sp&sentinel_username=su",
		"rediss+sentinel://s1/my%2Fmaster", "redis+cluster://n1:7000,n2:7001,n3", "rediss+cluster://u:p@n1/0",
		// Malformed, some with a password in the wrong place.
		"redis://:pa/ss@h", "redis://:pa?ss@h", "redis://:pa#ss@h", "redis://u:pa@ss@h", "redis://:p%zz@h",
		"redis://u:hunter22@h:99999", "redis://u:hunter22@[::1", "redis://u:hunter22@h/x/y",
		"redis://h?sentinel_password=hunter22", "redis+sentinel://h/m?sentinel_password=hunter22&sentinel_password=x",
		"redis+sentinel://h/m?sentinel_password=%zzhunter22", "redis://h?protocol=hunter22", "redis://h?x=1;y=2",
		"redis://u@h", "redis://h1,h2", "redis+cluster://", "redis+sentinel://h", "redis://h/-1", "redis://h:0",
		"redis://::1", "redis://[::1]x", "redis://h h", "http://h", "redis:/h", "redis://h?dial_timeout=-1s",
		"redis://user:hunter22", "redis://:hunter22/0", "redis+cluster://n1,u:hunter22", "redis://u:hun:ter22",
	}) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		opts, err := ParseURL(raw)
		if err != nil {
			checkURLError(t, raw, opts, err)
			return
		}
		checkURLOptions(t, raw, opts)
	})
}

// checkURLError: a refused URL gives no options, and the error quotes
// none of its passwords.
func checkURLError(t *testing.T, raw string, opts *goredis.UniversalOptions, err error) {
	t.Helper()
	if opts != nil {
		t.Fatalf("ParseURL(%q) returned options with error %v", raw, err)
	}
	for _, s := range urlSecrets(raw) {
		if strings.Contains(err.Error(), s.value) && !fixedText(s.value) && !s.elsewhere() {
			t.Fatalf("ParseURL(%q): error %q contains the password %q", raw, err, s.value)
		}
	}
}

// checkURLOptions: what ParseURL accepted is what raw asked for.
func checkURLOptions(t *testing.T, raw string, opts *goredis.UniversalOptions) {
	t.Helper()
	if len(opts.Addrs) == 0 {
		t.Fatalf("ParseURL(%q): no address", raw)
	}
	for _, a := range opts.Addrs {
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			t.Fatalf("ParseURL(%q): bad address %q", raw, a)
		}
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if tls := strings.HasPrefix(scheme, "rediss"); tls != (opts.TLSConfig != nil) {
		t.Fatalf("ParseURL(%q): scheme %s but TLS config %v", raw, scheme, opts.TLSConfig)
	}
	if cluster := strings.HasSuffix(scheme, "+cluster"); cluster != opts.IsClusterMode {
		t.Fatalf("ParseURL(%q): scheme %s but cluster mode %v", raw, scheme, opts.IsClusterMode)
	}
	if sentinel := strings.HasSuffix(scheme, "+sentinel"); sentinel != (opts.MasterName != "") {
		t.Fatalf("ParseURL(%q): scheme %s but master name %q", raw, scheme, opts.MasterName)
	}
	if len(opts.Addrs) > 1 && !opts.IsClusterMode && opts.MasterName == "" {
		t.Fatalf("ParseURL(%q): %d addresses for a single node", raw, len(opts.Addrs))
	}
	if opts.DB < 0 || opts.DialTimeout < 0 || opts.ReadTimeout < 0 || opts.WriteTimeout < 0 || opts.PoolTimeout < 0 {
		t.Fatalf("ParseURL(%q): negative setting in %+v", raw, opts)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		_, pass, _ := strings.Cut(authority[:at], ":")
		if want, err := url.PathUnescape(pass); err != nil || opts.Password != want {
			t.Fatalf("ParseURL(%q): password %q, want %q (%v)", raw, opts.Password, want, err)
		}
	} else if opts.Password != "" || opts.Username != "" {
		t.Fatalf("ParseURL(%q): credentials without user info", raw)
	}
}

// secret is a password found in a URL, and the URL without it.
type secret struct{ value, without string }

// urlSecrets returns what raw holds as passwords, found without
// ParseURL's own code: the user info's password (after the first ':' up
// to the last '@', which also covers a password holding an unencoded
// '/', '?' or '#'), and each sentinel_password value, each raw and
// decoded. Only secrets of 4 bytes or more count, as a shorter one may
// well be a piece of any message.
func urlSecrets(raw string) []secret {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	start := len(raw) - len(rest)
	var out []secret
	add := func(from, to int) {
		s, without := raw[from:to], raw[:from]+"\x00"+raw[to:]
		for _, v := range []string{s, pathDecoded(s), queryDecoded(s)} {
			if len(v) >= 4 {
				out = append(out, secret{v, without})
			}
		}
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if colon := strings.Index(rest[:at], ":"); colon >= 0 {
			add(start+colon+1, start+at)
			// The password as a parser splitting at the first '/', '?'
			// or '#' would see it.
			if i := strings.IndexAny(rest[colon+1:at], "/?#"); i >= 0 {
				add(start+colon+1, start+colon+1+i)
			}
		}
	} else {
		// No '@': user:password without the host (redis://u:secret)
		// puts the password after a ':' of the authority, where a port
		// would be.
		authority := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			authority = rest[:i]
		}
		for i := 0; i < len(authority); i++ {
			if authority[i] == ':' {
				end := i + 1 + strings.IndexAny(authority[i+1:]+",", ",")
				add(start+i+1, start+end)
			}
		}
	}
	const key = "sentinel_password="
	for i := 0; ; {
		j := strings.Index(raw[i:], key)
		if j < 0 {
			break
		}
		from := i + j + len(key)
		to := from + strings.IndexAny(raw[from:]+"&", "&;#")
		add(from, to)
		i = from
	}
	return out
}

func pathDecoded(s string) string {
	d, _ := url.PathUnescape(s)
	return d
}

func queryDecoded(s string) string {
	d, _ := url.QueryUnescape(s)
	return d
}

// elsewhere reports whether the secret's text is also in the rest of the
// URL (raw or decoded), where it may be quoted for what it is there.
func (s secret) elsewhere() bool {
	return strings.Contains(s.without, s.value) || strings.Contains(pathDecoded(s.without), s.value) ||
		strings.Contains(queryDecoded(s.without), s.value)
}

// fixedText reports whether s is a piece of the text ParseURL's messages
// are made of, so that finding it in a message says nothing about a leak.
func fixedText(s string) bool {
	const text = "redis: parse url: malformed URL with credentials (percent-encode '/', '?', '#' and '@' in the user name and password)" +
		"missing scheme (want redis://, rediss://, redis+sentinel:// or redis+cluster://)" +
		"unsupported URL scheme (want redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)" +
		"empty host name (if this is user:password, add '@' and the host)" +
		"a host with several ':' must be an IPv6 address in brackets" +
		"fragments (#) are not allowed; percent-encode '#' in passwords as %23" +
		"option sentinel_password is only for redis+sentinel:// given times unknown option"
	return strings.Contains(text, s)
}
