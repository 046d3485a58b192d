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
