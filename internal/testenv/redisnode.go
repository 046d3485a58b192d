package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisNodeOptions configure a RedisNode.
type RedisNodeOptions struct {
	// AOF turns on the append-only file with appendfsync always: every
	// acknowledged write is on disk, so a kill -9 and a restart lose
	// nothing. Off: no persistence at all.
	AOF bool
	// ReplicaOf is the "host:port" of a master to replicate, or "".
	ReplicaOf string
	// Extra are more command-line options ("--name", "value", ...).
	Extra []string

	// sentinelConf, when set, runs the node as a Sentinel with this
	// config file (see StartSentinel).
	sentinelConf string
	// ready, when set, is checked after PING answers until it returns nil
	// (a one-node cluster waits for its slots, see RedisCluster).
	ready func(addr string) error
}

// RedisNode is a redis-server child process on a fixed loopback port with
// a data directory that survives Kill and Start (unlike RedisServer, it
// can persist with AOF and can be a replica). It is killed when the test
// ends.
type RedisNode struct {
	// Addr is "127.0.0.1:port"; it stays the same across Kill and Start.
	Addr string
	// Dir is the data directory (AOF files, log).
	Dir string

	tb   testing.TB
	bin  string
	port int
	opts RedisNodeOptions

	// mu serializes Start, Kill and SetReplicaOf (opts).
	mu   sync.Mutex
	proc process
}

// StartRedisNode starts a redis-server on a free loopback port with opts,
// waits until it answers PING, and kills it when the test ends.
func StartRedisNode(tb testing.TB, opts RedisNodeOptions) *RedisNode {
	tb.Helper()
	n := newRedisNode(tb, opts)
	n.Start()
	return n
}

// newRedisNode picks the port and directory of a node; Start runs it.
func newRedisNode(tb testing.TB, opts RedisNodeOptions) *RedisNode {
	tb.Helper()
	bin, err := findRedisServer()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testenv: pick a port for redis-server: %v", err)
	}
	n := &RedisNode{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Dir:  tb.TempDir(),
		tb:   tb,
		bin:  bin,
		port: port,
		opts: opts,
	}
	tb.Cleanup(n.Kill)
	return n
}

// URL returns the redis:// URL of database 0.
func (n *RedisNode) URL() string { return "redis://" + n.Addr + "/0" }

// Port is the node's TCP port.
func (n *RedisNode) Port() int { return n.port }

func (n *RedisNode) args() []string {
	if n.opts.sentinelConf != "" {
		return []string{n.opts.sentinelConf, "--sentinel"}
	}
	args := []string{
		"--port", strconv.Itoa(n.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--dir", n.Dir,
		"--logfile", filepath.Join(n.Dir, "redis.log"),
		"--daemonize", "no",
	}
	if n.opts.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if n.opts.ReplicaOf != "" {
		host, port, err := net.SplitHostPort(n.opts.ReplicaOf)
		if err != nil {
			n.tb.Fatalf("testenv: ReplicaOf %q: %v", n.opts.ReplicaOf, err)
		}
		args = append(args, "--replicaof", host, port)
	}
	return append(args, n.opts.Extra...)
}

// SetReplicaOf sets the master the node replicates at its next Start
// ("" for none), as an operator would after a failover.
func (n *RedisNode) SetReplicaOf(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.ReplicaOf = addr
}

// Start (re)starts the server on its port with its data directory and
// waits until it answers PING (a restarted AOF node has loaded its data
// by then). It does nothing when the server is running.
func (n *RedisNode) Start() {
	n.tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	started, err := n.proc.start(cmdLine{bin: n.bin, args: n.args(), dir: n.Dir})
	if err != nil {
		n.tb.Fatalf("testenv: start %s: %v", n.bin, err)
	}
	if !started {
		return
	}
	if err := waitPing(n.Addr, n.proc.exitedChan(), n.opts.ready); err != nil {
		n.proc.stop(syscall.SIGKILL, 0)
		n.tb.Fatalf("testenv: redis-server on %s: %v\n%s", n.Addr, err, tail(filepath.Join(n.Dir, "redis.log")))
	}
}

// waitPing polls addr until PING answers PONG (LOADING and other errors
// retry) and ready, when not nil, passes, the process exits, or
// redisStartTimeout passes.
func waitPing(addr string, exited <-chan struct{}, ready func(string) error) error {
	deadline := time.Now().Add(redisStartTimeout)
	for {
		err := ping(addr)
		if err == nil && ready != nil {
			err = ready(addr)
		}
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited during startup: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %s: %w", redisStartTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill kills the server with SIGKILL (a crash) and waits for it to exit.
// It does nothing when the server is not running.
func (n *RedisNode) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proc.stop(syscall.SIGKILL, 0)
}

// Pause stops the server with SIGSTOP (hung, not dead: connections stay
// open and nothing answers); Resume continues it.
func (n *RedisNode) Pause() { n.sendSignal(n.tb, syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (n *RedisNode) Resume() { n.sendSignal(n.tb, syscall.SIGCONT) }

// sendSignal signals the running process, failing tb when there is none,
// and returns its pid.
func (n *RedisNode) sendSignal(tb testing.TB, sig syscall.Signal) int {
	tb.Helper()
	pid, err := n.proc.signal(sig)
	if err != nil {
		tb.Fatalf("testenv: signal %v to redis-server: %v", sig, err)
	}
	return pid
}

// Do sends one command on a new connection and returns a simple, integer
// or bulk string reply as text (arrays are not supported; see Info).
func (n *RedisNode) Do(args ...string) (string, error) { return command(n.Addr, args...) }

// Info returns the fields of INFO section as a map.
func (n *RedisNode) Info(section string) (map[string]string, error) {
	return info(n.Addr, section)
}

func info(addr, section string) (map[string]string, error) {
	text, err := command(addr, "INFO", section)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out, nil
}

// LogTail returns the end of the server's log.
func (n *RedisNode) LogTail() string { return tail(filepath.Join(n.Dir, "redis.log")) }

// AOFBytes is the total size of the node's append-only files.
func (n *RedisNode) AOFBytes() int64 {
	var total int64
	_ = filepath.Walk(n.Dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.Contains(fi.Name(), ".aof") {
			total += fi.Size()
		}
		return nil
	})
	return total
}
