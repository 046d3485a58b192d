// Package testenv starts the real services authgate's tests run against
// (redis-server, mailpit, chromium) as child processes on free loopback
// ports, and stops them when the test ends. A missing binary fails the test
// with a hint to run `make -f xcaddy.mk test`, which installs them; tests
// never skip.
package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// redisStartTimeout bounds how long Redis and Start wait for PING to work.
const redisStartTimeout = 15 * time.Second

// RedisServer is a redis-server child process listening on 127.0.0.1.
// It keeps no data on disk: a restart (Stop then Start) begins empty.
type RedisServer struct {
	// Addr is "127.0.0.1:port"; it stays the same across Stop and Start.
	Addr string

	tb   testing.TB
	bin  string
	dir  string
	port int
	mode redisMode
	// busPort is the cluster bus port, chosen free rather than Redis's
	// default port+10000, which can be taken or above 65535.
	busPort int
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
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
	bin, err := findRedisServer()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testenv: pick a port for redis-server: %v", err)
	}
	busPort := 0
	if mode != standalone {
		if busPort, err = freePort(); err != nil {
			tb.Fatalf("testenv: pick a cluster bus port for redis-server: %v", err)
		}
	}
	r := &RedisServer{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		tb:      tb,
		bin:     bin,
		dir:     tb.TempDir(),
		port:    port,
		mode:    mode,
		busPort: busPort,
	}
	tb.Cleanup(r.Stop)
	r.Start()
	return r
}

// URL returns the redis:// URL of database 0 of the server.
func (r *RedisServer) URL() string { return "redis://" + r.Addr + "/0" }

// Start (re)starts the server on its port after Stop and waits until it
// answers PING (and, for a one-node cluster, reports cluster_state:ok; a
// member of RedisCluster3 rejoins its cluster from its nodes.conf). It does
// nothing when the server is running. It fails the test when the server
// does not come up; call it from the test's goroutine.
func (r *RedisServer) Start() {
	r.tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	logPath := filepath.Join(r.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
		"--logfile", logPath,
		"--daemonize", "no",
	}
	if r.mode != standalone {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(r.busPort))
	}
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.dir
	if err := cmd.Start(); err != nil {
		r.tb.Fatalf("testenv: start %s: %v", r.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	r.cmd, r.exited = cmd, exited

	deadline := time.Now().Add(redisStartTimeout)
	for {
		err := ping(r.Addr)
		if err == nil && r.mode == singleNodeCluster {
			err = clusterReady(r.Addr)
		}
		if err == nil {
			return
		}
		select {
		case <-exited:
			r.cmd = nil
			r.tb.Fatalf("testenv: redis-server on %s exited during startup: %v\n%s", r.Addr, err, tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			r.stopLocked()
			r.tb.Fatalf("testenv: redis-server on %s did not answer PING within %s: %v\n%s",
				r.Addr, redisStartTimeout, err, tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (as a crash would) and waits for it to exit. It
// does nothing when the server is not running.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *RedisServer) stopLocked() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd, r.exited = nil, nil
}

// Pause stops the server with SIGSTOP: it keeps its connections open and
// answers nothing (a hung server, not a dead one). Resume continues it;
// a paused server is resumed when the test ends, so it can be stopped.
func (r *RedisServer) Pause(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		tb.Fatal("testenv: Pause of a stopped redis-server")
	}
	pid := r.cmd.Process.Pid
	tb.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		tb.Fatalf("testenv: SIGSTOP redis-server: %v", err)
	}
}

// Resume continues a paused server (SIGCONT).
func (r *RedisServer) Resume(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		tb.Fatal("testenv: Resume of a stopped redis-server")
	}
	if err := syscall.Kill(r.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		tb.Fatalf("testenv: SIGCONT redis-server: %v", err)
	}
}

// findRedisServer looks for redis-server on PATH, then in /usr/bin.
func findRedisServer() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const fallback = "/usr/bin/redis-server"
	if fi, err := os.Stat(fallback); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return fallback, nil
	}
	return "", errors.New("redis-server not found on PATH or at /usr/bin/redis-server; " +
		"run `make -f xcaddy.mk test`, which installs it (Debian package redis-server)")
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
// simple string, integer or bulk string reply as text.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(req.Bytes()); err != nil {
		return "", err
	}
	rd := bufio.NewReader(conn)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis error reply: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unsupported reply %q", line)
	}
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
