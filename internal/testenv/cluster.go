package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// clusterStartTimeout bounds `redis-cli --cluster create` and the wait
// for every node to report the cluster ok. A fresh master keeps
// cluster_state:fail for 2 s (Redis's writable delay), so this is roomy.
const clusterStartTimeout = 30 * time.Second

// Cluster is a Redis Cluster of redis-server child processes on loopback,
// each a master without replicas.
type Cluster struct {
	// Nodes are the masters. A node can be stopped and started again like
	// any RedisServer; it rejoins from its nodes.conf (with no data).
	Nodes []*RedisServer
}

// RedisCluster3 starts a real three-master Redis Cluster: three
// redis-server processes with cluster-enabled on free loopback ports,
// joined by `redis-cli --cluster create ... --cluster-replicas 0
// --cluster-yes` (which splits the 16384 slots in three ranges), and waits
// until every node reports cluster_state:ok and knows the other two. The
// processes stop when the test ends. It fails the test when redis-server
// or redis-cli (Debian package redis-tools, a dependency of redis-server)
// is missing or the cluster does not form.
func RedisCluster3(tb testing.TB) *Cluster {
	tb.Helper()
	cli, err := findRedisCLI()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, startRedis(tb, clusterMember))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All 16384 slots covered") {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	for {
		err := c.converged()
		if err == nil {
			return c
		}
		if ctx.Err() != nil {
			tb.Fatalf("testenv: Redis Cluster on %s did not become ok within %s: %v", c.Addrs(), clusterStartTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addrs lists the nodes' "127.0.0.1:port" addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// URL returns a redis+cluster:// URL with every node as a seed, the form
// store/redis.ParseURL takes.
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// converged reports whether every node sees the whole cluster ok.
func (c *Cluster) converged() error {
	want := fmt.Sprintf("cluster_known_nodes:%d\r\n", len(c.Nodes))
	for _, n := range c.Nodes {
		info, err := command(n.Addr, "CLUSTER", "INFO")
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok\r\n") || !strings.Contains(info, "cluster_slots_assigned:16384\r\n") ||
			!strings.Contains(info, want) {
			return fmt.Errorf("%s not converged yet", n.Addr)
		}
	}
	return nil
}

// findRedisCLI looks for redis-cli on PATH, then in /usr/bin.
func findRedisCLI() (string, error) {
	return findBin("redis-cli", "redis-server and with it Debian package redis-tools")
}
