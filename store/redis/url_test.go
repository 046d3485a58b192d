package redis

import (
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url   string
		check func(t *testing.T, o *goredis.UniversalOptions)
	}{
		{"redis://127.0.0.1:6380/2", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "127.0.0.1:6380")
			if o.DB != 2 || o.TLSConfig != nil || o.MasterName != "" || o.IsClusterMode {
				t.Errorf("got %+v", o)
			}
		}},
		{"redis://localhost", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "localhost:6379")
			if o.DB != 0 {
				t.Errorf("DB = %d", o.DB)
			}
		}},
		{"redis://[::1]:7000/0", func(t *testing.T, o *goredis.UniversalOptions) { wantAddrs(t, o, "[::1]:7000") }},
		{"redis://[::1]", func(t *testing.T, o *goredis.UniversalOptions) { wantAddrs(t, o, "[::1]:6379") }},
		{"redis://[fe80::1%25eth0]:7000", func(t *testing.T, o *goredis.UniversalOptions) { wantAddrs(t, o, "[fe80::1%eth0]:7000") }},
		{"rediss://alice:p%40ss%3Aw0rd@redis.example.com/1", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "redis.example.com:6379")
			if o.Username != "alice" || o.Password != "p@ss:w0rd" || o.DB != 1 {
				t.Errorf("credentials/db = %q %q %d", o.Username, o.Password, o.DB)
			}
			if o.TLSConfig == nil || o.TLSConfig.MinVersion < 0x0303 || o.TLSConfig.InsecureSkipVerify {
				t.Errorf("TLSConfig = %+v, want verified TLS >= 1.2", o.TLSConfig)
			}
		}},
		{"redis://:secret@h:1", func(t *testing.T, o *goredis.UniversalOptions) {
			if o.Username != "" || o.Password != "secret" {
				t.Errorf("credentials = %q %q", o.Username, o.Password)
			}
		}},
		{"REDIS://h?dial_timeout=3&read_timeout=1.5s&write_timeout=250ms&pool_timeout=2s&pool_size=7&min_idle_conns=2&max_retries=-1&dialer_retries=2&client_name=gate&protocol=2",
			func(t *testing.T, o *goredis.UniversalOptions) {
				if o.DialTimeout != 3*time.Second || o.ReadTimeout != 1500*time.Millisecond ||
					o.WriteTimeout != 250*time.Millisecond || o.PoolTimeout != 2*time.Second ||
					o.PoolSize != 7 || o.MinIdleConns != 2 || o.MaxRetries != -1 || o.DialerRetries != 2 ||
					o.ClientName != "gate" || o.Protocol != 2 {
					t.Errorf("options = %+v", o)
				}
			}},
		{"redis+sentinel://:pw@s1:26380,s2,[::1]/mymaster/3?sentinel_password=sp&sentinel_username=su", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "s1:26380", "s2:26379", "[::1]:26379")
			if o.MasterName != "mymaster" || o.DB != 3 || o.Password != "pw" ||
				o.SentinelPassword != "sp" || o.SentinelUsername != "su" || o.IsClusterMode {
				t.Errorf("options = %+v", o)
			}
		}},
		{"rediss+sentinel://s1/my%2Fmaster", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "s1:26379")
			if o.MasterName != "my/master" {
				t.Errorf("MasterName = %q", o.MasterName)
			}
			if o.TLSConfig == nil {
				t.Error("no TLS for rediss+sentinel")
			}
		}},
		{"redis+cluster://n1:7000,n2:7001,n3", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "n1:7000", "n2:7001", "n3:6379")
			if !o.IsClusterMode || o.MasterName != "" || o.DB != 0 {
				t.Errorf("options = %+v", o)
			}
		}},
		{"rediss+cluster://u:p@n1/0", func(t *testing.T, o *goredis.UniversalOptions) {
			wantAddrs(t, o, "n1:6379")
			if !o.IsClusterMode || o.TLSConfig == nil || o.Username != "u" || o.Password != "p" {
				t.Errorf("options = %+v", o)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			o, err := ParseURL(tc.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			tc.check(t, o)
		})
	}
}

func TestParseURLClientKinds(t *testing.T) {
	for url, want := range map[string]string{
		"redis://h:1/0":                 "*redis.Client",
		"redis+cluster://h:1":           "*redis.ClusterClient",
		"redis+cluster://h:1,h:2":       "*redis.ClusterClient",
		"redis+sentinel://h:1/mymaster": "*redis.Client", // the sentinel-backed failover client
	} {
		o, err := ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := goredis.NewUniversalClient(o)
		got := typeName(c)
		c.Close()
		if got != want {
			t.Errorf("%s gives %s, want %s", url, got, want)
		}
	}
}

func typeName(c goredis.UniversalClient) string {
	switch c.(type) {
	case *goredis.ClusterClient:
		return "*redis.ClusterClient"
	case *goredis.Client:
		return "*redis.Client"
	default:
		return "other"
	}
}

// badURLs are URLs ParseURL refuses (also seeds of FuzzParseURL).
var badURLs = []string{
	"",
	"redis://1.2.3.4%25x", "redis://[fe80::1%]", "redis://[fe80::1%25]", "redis://[fe80::1%eth0]", "redis://h%25x",
	"redis://bücher.example",
	"localhost:6379",
	"http://h",
	"unix:///tmp/redis.sock",
	"redis://h1,h2",
	"redis://h/1/2",
	"redis://h/x",
	"redis://h/-1",
	"redis://h:0",
	"redis://h:65536",
	"redis://h:port",
	"redis://::1",
	"redis://[::1",
	"redis://h,",
	"redis://justuser@h",
	"redis://u:%zz@h",
	"redis://h#frag",
	"redis://h?unknown=1",
	"redis://h?dial_timeout=soon",
	"redis://h?dial_timeout=-1s",
	"redis://h?pool_size=-2",
	"redis://h?protocol=4",
	"redis://h?pool_size=1&pool_size=2",
	"redis://h?sentinel_password=x",
	"redis+sentinel://s1",
	"redis+sentinel://s1/",
	"redis+sentinel://s1/m/x",
	"redis+sentinel://s1/m/1/2",
	"redis+sentinel:///m",
	"redis+cluster://",
	"redis+cluster://n1/1",
	// No host: the grammar names one, and `caddy validate` (which
	// calls ParseURL) must refuse what the server would.
	"redis://",
	"redis:///0",
	"rediss://:pw@/0",
}

// secretURLs are malformed URLs holding the password hunter2, which
// ParseURL refuses without quoting any of it (also seeds of FuzzParseURL).
var secretURLs = []string{
	"redis://u:hunter2@h/x",
	"redis://u:hunter2@h?bogus=1",
	"redis+sentinel://h/m?sentinel_password=hunter2&x=%zz",
	"redis+sentinel://h/m?sentinel_password=hunter2&bogus=1",
	"redis://u:hunter2@h:bad",
	"redis://:hun/ter2@host",
	"redis://user:hunt?er2@host",
	"redis://u:hunter2@ss/word@h",
	// The '@' and host forgotten: the password stands where a port
	// or host would.
	"redis://user:hunter2",
	"redis://user:hunter2/0",
	"redis://:hunter2",
	"rediss://:hunter2/0?dial_timeout=1s",
	"redis://user:hun:ter2",
	"redis+cluster://n1:7000,user:hunter2",
	"redis+sentinel://user:hunter2/mymaster",
	"redis://[user]:hunter2x",
	"redis://[user]hunter2",
	// The '?' before an option forgotten: the option stands in the host
	// or the database number.
	"redis://h&sentinel_password=hunter2",
	"redis://h/0&sentinel_password=hunter2",
	"redis:// sentinel_password=hunter2",
	"redis://h/hunter2",
}

func TestParseURLErrors(t *testing.T) {
	for _, url := range badURLs {
		if o, err := ParseURL(url); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", url, o)
		}
	}
}

func TestParseURLErrorsHidePasswords(t *testing.T) {
	for _, url := range secretURLs {
		_, err := ParseURL(url)
		if err == nil {
			t.Fatalf("ParseURL(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun") {
			t.Errorf("error for %q reveals the password: %v", url, err)
		}
	}
}

func wantAddrs(t *testing.T, o *goredis.UniversalOptions, want ...string) {
	t.Helper()
	if !slices.Equal(o.Addrs, want) {
		t.Errorf("Addrs = %q, want %q", o.Addrs, want)
	}
}
