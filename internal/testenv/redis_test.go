package testenv

import (
	"strings"
	"testing"
)

func TestRedisStopStart(t *testing.T) {
	r := Redis(t)
	if !strings.HasPrefix(r.Addr, "127.0.0.1:") {
		t.Fatalf("Addr = %q, want a loopback address", r.Addr)
	}
	if want := "redis://" + r.Addr + "/0"; r.URL() != want {
		t.Fatalf("URL() = %q, want %q", r.URL(), want)
	}
	if err := ping(r.Addr); err != nil {
		t.Fatalf("PING after Redis(): %v", err)
	}
	r.Stop()
	if err := ping(r.Addr); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
	r.Stop() // idempotent
	addr := r.Addr
	r.Start()
	if r.Addr != addr {
		t.Fatalf("Addr changed across restart: %q -> %q", addr, r.Addr)
	}
	if err := ping(r.Addr); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	r.Start() // no-op while running
	if err := ping(r.Addr); err != nil {
		t.Fatalf("PING after second Start: %v", err)
	}
}

func TestRedisTwoServers(t *testing.T) {
	a, b := Redis(t), Redis(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share %s", a.Addr)
	}
	for _, r := range []*RedisServer{a, b} {
		if err := ping(r.Addr); err != nil {
			t.Fatalf("PING %s: %v", r.Addr, err)
		}
	}
}

func TestFindRedisServer(t *testing.T) {
	p, err := findRedisServer()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p, "redis-server") {
		t.Fatalf("findRedisServer() = %q", p)
	}
	t.Setenv("PATH", t.TempDir())
	if p, err := findRedisServer(); err != nil || p != "/usr/bin/redis-server" {
		t.Fatalf("findRedisServer() with an empty PATH = %q, %v; want the /usr/bin fallback", p, err)
	}
}

func TestRedisCluster(t *testing.T) {
	r := RedisCluster(t)
	info, err := command(r.Addr, "CLUSTER", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
		t.Fatalf("CLUSTER INFO = %q, want all slots assigned and state ok", info)
	}
	if _, err := command(r.Addr, "DEL", "{a}x", "{b}y"); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("DEL across slots = %v, want a CROSSSLOT error", err)
	}
}

func TestRedisCluster3(t *testing.T) {
	c := RedisCluster3(t)
	if len(c.Nodes) != 3 || !strings.HasPrefix(c.URL(), "redis+cluster://127.0.0.1:") || strings.Count(c.URL(), ",") != 2 {
		t.Fatalf("Nodes = %d, URL() = %q; want 3 nodes, all in the URL", len(c.Nodes), c.URL())
	}
	for _, n := range c.Nodes {
		info, err := command(n.Addr, "CLUSTER", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(info, "cluster_size:3\r\n") || !strings.Contains(info, "cluster_state:ok\r\n") {
			t.Fatalf("CLUSTER INFO of %s = %q, want 3 masters and state ok", n.Addr, info)
		}
	}
	// Each key is accepted by exactly one node (the others answer MOVED),
	// and "a", "b", "c" hash to slots 15495, 3300 and 7365: one per third.
	owners := map[string]bool{}
	for _, key := range []string{"a", "b", "c"} {
		accepted := 0
		for _, n := range c.Nodes {
			_, err := command(n.Addr, "SET", key, "1")
			switch {
			case err == nil:
				accepted++
				owners[n.Addr] = true
			case !strings.Contains(err.Error(), "MOVED"):
				t.Fatalf("SET %s on %s = %v, want OK or MOVED", key, n.Addr, err)
			}
		}
		if accepted != 1 {
			t.Fatalf("SET %s accepted by %d nodes, want 1", key, accepted)
		}
	}
	if len(owners) != 3 {
		t.Fatalf("keys a, b, c stored on %d nodes, want 3", len(owners))
	}
}
