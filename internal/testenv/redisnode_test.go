package testenv

import "testing"

// The Sentinel helpers are exercised by soak/TestSentinelFailover (make
// -f xcaddy.mk soak); a failover takes seconds, too long for go test ./...

func TestRedisNodeAOFSurvivesKill(t *testing.T) {
	n := StartRedisNode(t, RedisNodeOptions{AOF: true})
	if _, err := n.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	addr := n.Addr
	n.Kill()
	if err := ping(addr); err == nil {
		t.Fatal("PING answered after Kill")
	}
	n.Kill() // idempotent
	n.Start()
	if n.Addr != addr {
		t.Fatalf("Addr changed across restart: %s -> %s", addr, n.Addr)
	}
	if got, err := n.Do("GET", "k"); err != nil || got != "v" {
		t.Fatalf("GET k after kill and restart with AOF = %q, %v; want v", got, err)
	}
	if n.AOFBytes() == 0 {
		t.Fatal("no append-only file written")
	}
}

func TestRedisNodeWithoutAOFStartsEmpty(t *testing.T) {
	n := StartRedisNode(t, RedisNodeOptions{})
	if _, err := n.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	n.Kill()
	n.Start()
	if got, err := n.Do("EXISTS", "k"); err != nil || got != "0" {
		t.Fatalf("EXISTS k after a restart without persistence = %q, %v; want 0", got, err)
	}
}

func TestRedisNodePauseResume(t *testing.T) {
	n := StartRedisNode(t, RedisNodeOptions{})
	n.Pause()
	if err := ping(n.Addr); err == nil {
		t.Fatal("a paused server answered PING")
	}
	n.Resume()
	if err := ping(n.Addr); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

func TestCommandAnyArrays(t *testing.T) {
	n := StartRedisNode(t, RedisNodeOptions{})
	v, err := commandAny(n.Addr, "CONFIG", "GET", "appendonly")
	if err != nil {
		t.Fatal(err)
	}
	if m := pairs(v); m["appendonly"] != "no" {
		t.Fatalf("CONFIG GET appendonly = %v", v)
	}
	if v, err := commandAny(n.Addr, "GET", "missing"); err != nil || v != nil {
		t.Fatalf("GET missing = %v, %v; want nil", v, err)
	}
}
