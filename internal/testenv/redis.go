// Package testenv starts the real services authgate's tests run against
// (redis-server, mailpit, chromium) as child processes on free loopback
// ports, and stops them when the test ends. A missing binary fails the test
// with a hint to run `make -f xcaddy.mk test`, which installs them; tests
// never skip.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// redisStartTimeout bounds how long Redis and Start wait for PING to work.
const redisStartTimeout = 15 * time.Second

// RedisServer is a redis-server child process listening on 127.0.0.1.
// It keeps no data on disk: a restart (Stop then Start) begins empty. It is
// a RedisNode without persistence or replication, so the process start,
// readiness wait, kill and signals live once, in redisnode.go.
type RedisServer struct {
	// Addr is "127.0.0.1:port"; it stays the same across Stop and Start.
	Addr string

	node *RedisNode
}

// Redis starts a redis-server on a free loopback port with persistence off
// and a private temporary directory, waits until it answers PING and stops
// it when the test ends. It fails the test when redis-server is missing or
// does not come up.
func Redis(tb testing.TB) *RedisServer {
	tb.Helper()
	return startRedis(tb, standalone)
}

// RedisCluster is like Redis but starts a one-node Redis Cluster that owns
// all 16384 hash slots, for testing code against a go-redis ClusterClient:
// the node enforces cluster rules such as CROSSSLOT for multi-key commands.
// Redis keeps a new cluster master read-only for about 2 s after start, so
// this takes longer than Redis.
func RedisCluster(tb testing.TB) *RedisServer {
	tb.Helper()
	return startRedis(tb, singleNodeCluster)
}

// redisMode is how a RedisServer takes part in a cluster.
type redisMode int

const (
	standalone        redisMode = iota
	singleNodeCluster           // cluster-enabled, owns every slot itself
	clusterMember               // cluster-enabled, slots assigned by RedisCluster3
)

func startRedis(tb testing.TB, mode redisMode) *RedisServer {
	tb.Helper()
	var opts RedisNodeOptions
	if mode != standalone {
		// The cluster bus port is chosen free rather than Redis's default
		// port+10000, which can be taken or above 65535.
		busPort, err := freePort()
		if err != nil {
			tb.Fatalf("testenv: pick a cluster bus port for redis-server: %v", err)
		}
		opts.Extra = []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(busPort)}
	}
	if mode == singleNodeCluster {
		opts.ready = clusterReady
	}
	n := StartRedisNode(tb, opts)
	return &RedisServer{Addr: n.Addr, node: n}
}

// URL returns the redis:// URL of database 0 of the server.
func (r *RedisServer) URL() string { return r.node.URL() }

// Start (re)starts the server on its port after Stop and waits until it
// answers PING (and, for a one-node cluster, reports cluster_state:ok; a
// member of RedisCluster3 rejoins its cluster from its nodes.conf). It does
// nothing when the server is running. It fails the test when the server
// does not come up; call it from the test's goroutine.
func (r *RedisServer) Start() { r.node.Start() }

// Stop kills the server (as a crash would) and waits for it to exit. It
// does nothing when the server is not running.
func (r *RedisServer) Stop() { r.node.Kill() }

// Pause stops the server with SIGSTOP: it keeps its connections open and
// answers nothing (a hung server, not a dead one). Resume continues it;
// a paused server is resumed when tb ends, so it can be stopped.
func (r *RedisServer) Pause(tb testing.TB) {
	tb.Helper()
	pid := r.node.sendSignal(tb, syscall.SIGSTOP)
	tb.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

// Resume continues a paused server (SIGCONT).
func (r *RedisServer) Resume(tb testing.TB) {
	tb.Helper()
	r.node.sendSignal(tb, syscall.SIGCONT)
}

// findRedisServer looks for redis-server on PATH, then in /usr/bin.
func findRedisServer() (string, error) {
	return findBin("redis-server", "it (Debian package redis-server)")
}

// findBin looks for the program name on PATH, then in /usr/bin; the
// error says what `make -f xcaddy.mk test` installs to provide it.
func findBin(name, installs string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	fallback := "/usr/bin/" + name
	if fi, err := os.Stat(fallback); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return fallback, nil
	}
	return "", fmt.Errorf("%s not found on PATH or at %s; run `make -f xcaddy.mk test`, which installs %s",
		name, fallback, installs)
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// clusterReady assigns all slots to a fresh cluster node and reports
// whether the cluster state is ok.
func clusterReady(addr string) error {
	info, err := command(addr, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	if strings.Contains(info, "cluster_slots_assigned:0\r\n") {
		if _, err := command(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
			return err
		}
		return errors.New("cluster slots just assigned")
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return errors.New("cluster state not ok yet")
	}
	return nil
}

// ping sends PING and expects PONG.
func ping(addr string) error {
	reply, err := command(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("unexpected PING reply %q", reply)
	}
	return nil
}

// command sends one command in RESP on a new connection and returns a
// simple string, integer or bulk string reply as text; a null or an array
// reply is an error (commandAny returns those).
func command(addr string, args ...string) (string, error) {
	v, err := commandAny(addr, args...)
	if err != nil {
		return "", err
	}
	text, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("unsupported reply %v to %s", v, args[0])
	}
	return text, nil
}

// tail returns the last lines of the server log for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no redis-server log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "redis-server log:\n" + string(bytes.Join(lines, []byte("\n")))
}
