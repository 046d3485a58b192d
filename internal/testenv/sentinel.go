package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SentinelMasterName is the master name the Sentinel setup monitors.
const SentinelMasterName = "authgate"

// SentinelSet is a Redis Sentinel setup on loopback: two data nodes (one
// master, one replica at start) and one Sentinel (quorum 1) that fails
// over after the master has been unreachable for 1 s. Sentinel runs as
// `redis-server <conf> --sentinel`, so no redis-sentinel binary is needed.
type SentinelSet struct {
	// Nodes are the data nodes; Nodes[0] is the master at start.
	Nodes []*RedisNode
	// Sentinel is the Sentinel process.
	Sentinel *RedisNode

	tb testing.TB
}

// sentinelReadyTimeout bounds waiting for replication and for the
// Sentinel to know the replica.
const sentinelReadyTimeout = 20 * time.Second

// StartSentinel starts a master, a replica and a Sentinel, waits until
// the replica is in sync and the Sentinel lists it as a healthy replica
// (so a failover can pick it), and kills everything when the test ends.
// nodeOpts apply to both data nodes (ReplicaOf is set for the replica).
func StartSentinel(tb testing.TB, nodeOpts RedisNodeOptions) *SentinelSet {
	tb.Helper()
	master := StartRedisNode(tb, nodeOpts)
	replicaOpts := nodeOpts
	replicaOpts.ReplicaOf = master.Addr
	replica := StartRedisNode(tb, replicaOpts)

	sent := newRedisNode(tb, RedisNodeOptions{})
	conf := filepath.Join(sent.Dir, "sentinel.conf")
	text := fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
dir %s
logfile %s
sentinel resolve-hostnames no
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, sent.port, sent.Dir, filepath.Join(sent.Dir, "redis.log"),
		SentinelMasterName, master.port, SentinelMasterName, SentinelMasterName, SentinelMasterName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatalf("testenv: write sentinel.conf: %v", err)
	}
	sent.opts.sentinelConf = conf
	sent.Start()

	s := &SentinelSet{Nodes: []*RedisNode{master, replica}, Sentinel: sent, tb: tb}
	s.WaitReplicasReady(sentinelReadyTimeout)
	return s
}

// URL is the redis+sentinel:// URL of database 0 through the Sentinel.
func (s *SentinelSet) URL() string {
	return "redis+sentinel://" + s.Sentinel.Addr + "/" + SentinelMasterName + "/0"
}

// MasterAddr asks the Sentinel for the current master's address.
func (s *SentinelSet) MasterAddr() (string, error) {
	v, err := commandAny(s.Sentinel.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMasterName)
	if err != nil {
		return "", err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return "", fmt.Errorf("sentinel: unexpected master address reply %v", v)
	}
	host, _ := arr[0].(string)
	port, _ := arr[1].(string)
	return host + ":" + port, nil
}

// Node returns the data node listening on addr, or nil.
func (s *SentinelSet) Node(addr string) *RedisNode {
	for _, n := range s.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Master is the data node the Sentinel names master; it fails the test
// when the Sentinel does not answer.
func (s *SentinelSet) Master() *RedisNode {
	s.tb.Helper()
	addr, err := s.MasterAddr()
	if err != nil {
		s.tb.Fatalf("testenv: sentinel master: %v", err)
	}
	n := s.Node(addr)
	if n == nil {
		s.tb.Fatalf("testenv: sentinel names unknown master %s", addr)
	}
	return n
}

// Role returns a node's INFO replication role ("master" or "slave").
func Role(n *RedisNode) (string, error) {
	inf, err := n.Info("replication")
	if err != nil {
		return "", err
	}
	return inf["role"], nil
}

// WaitReplicasReady waits until every running data node other than the
// master replicates it with the link up, and the Sentinel lists each as
// a replica without down flags.
func (s *SentinelSet) WaitReplicasReady(timeout time.Duration) {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, why := s.replicasReady()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			s.tb.Fatalf("testenv: sentinel setup not ready after %s: %s\n%s", timeout, last, s.Sentinel.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *SentinelSet) replicasReady() (bool, string) {
	master, err := s.MasterAddr()
	if err != nil {
		return false, err.Error()
	}
	v, err := commandAny(s.Sentinel.Addr, "SENTINEL", "REPLICAS", SentinelMasterName)
	if err != nil {
		return false, err.Error()
	}
	arr, _ := v.([]any)
	known := map[string]map[string]string{}
	for _, r := range arr {
		m := pairs(r)
		known[m["ip"]+":"+m["port"]] = m
	}
	for _, n := range s.Nodes {
		if n.Addr == master || !n.running() {
			continue
		}
		inf, err := n.Info("replication")
		if err != nil {
			return false, err.Error()
		}
		if inf["role"] != "slave" || inf["master_host"]+":"+inf["master_port"] != master || inf["master_link_status"] != "up" {
			return false, fmt.Sprintf("%s: role %s of %s:%s, link %s", n.Addr, inf["role"], inf["master_host"], inf["master_port"], inf["master_link_status"])
		}
		m, ok := known[n.Addr]
		if !ok {
			return false, "sentinel does not know replica " + n.Addr + " yet"
		}
		if m["flags"] != "slave" || m["master-link-status"] != "ok" {
			return false, fmt.Sprintf("sentinel: replica %s flags %q link %q", n.Addr, m["flags"], m["master-link-status"])
		}
	}
	return true, ""
}

func (n *RedisNode) running() bool { return n.proc.running() }

// WaitSynced waits until every running replica has acknowledged the
// master's replication offset as it is now: every write the master
// acknowledged before the call is then on the replicas too.
func (s *SentinelSet) WaitSynced(timeout time.Duration) {
	s.tb.Helper()
	master := s.Master()
	inf, err := master.Info("replication")
	if err != nil {
		s.tb.Fatalf("testenv: master INFO: %v", err)
	}
	want, err := strconv.ParseInt(inf["master_repl_offset"], 10, 64)
	if err != nil {
		s.tb.Fatalf("testenv: master_repl_offset %q", inf["master_repl_offset"])
	}
	deadline := time.Now().Add(timeout)
	for {
		synced := true
		for _, n := range s.Nodes {
			if n == master || !n.running() {
				continue
			}
			ri, err := n.Info("replication")
			got, perr := strconv.ParseInt(ri["slave_repl_offset"], 10, 64)
			if err != nil || perr != nil || got < want {
				synced = false
			}
		}
		if synced {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("testenv: replicas did not reach master offset %d within %s", want, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Failover asks the Sentinel for a failover (SENTINEL FAILOVER) and
// returns the promoted node once the Sentinel names it and it reports
// role master.
func (s *SentinelSet) Failover(timeout time.Duration) *RedisNode {
	s.tb.Helper()
	old, err := s.MasterAddr()
	if err != nil {
		s.tb.Fatalf("testenv: sentinel master: %v", err)
	}
	if _, err := commandAny(s.Sentinel.Addr, "SENTINEL", "FAILOVER", SentinelMasterName); err != nil {
		s.tb.Fatalf("testenv: SENTINEL FAILOVER: %v", err)
	}
	return s.WaitNewMaster(old, timeout)
}

// WaitNewMaster waits until the Sentinel names a master other than old
// and that node reports role master, and returns it.
func (s *SentinelSet) WaitNewMaster(old string, timeout time.Duration) *RedisNode {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		addr, err := s.MasterAddr()
		if err == nil && addr != old {
			if n := s.Node(addr); n != nil {
				if role, err := Role(n); err == nil && role == "master" {
					return n
				}
			}
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("testenv: no new master (old %s) within %s (sentinel says %s, %v)\n%s", old, timeout, addr, err, s.Sentinel.LogTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Switchover is a planned failover that loses no acknowledged write, and
// returns the promoted node. A bare SENTINEL FAILOVER does lose some:
// clients keep writing to the old master until the Sentinel announces the
// switch, and the old master drops those writes when it becomes a
// replica. So, on the old master:
//
//  1. min-replicas-to-write one more than it has replicas: from now on it
//     refuses every write (NOREPLICAS) and acknowledges none;
//  2. wait until the replicas have every write acknowledged before;
//  3. SENTINEL FAILOVER, and wait for the new master;
//  4. once the Sentinel has made the old master a replica,
//     min-replicas-to-write 0 again.
//
// Writes fail fast from step 1 until clients follow the Sentinel to the
// new master (under a second here); reads go on. (CLIENT PAUSE WRITE
// instead of step 1 also pauses the Sentinel's own PUBLISH on the master,
// which stalls its link and the failover for about 10 s.)
func (s *SentinelSet) Switchover(timeout time.Duration) *RedisNode {
	s.tb.Helper()
	old := s.Master()
	deadline := time.Now().Add(timeout)
	inf, err := old.Info("replication")
	if err != nil {
		s.tb.Fatalf("testenv: INFO on %s: %v", old.Addr, err)
	}
	n, err := strconv.Atoi(inf["connected_slaves"])
	if err != nil {
		s.tb.Fatalf("testenv: connected_slaves %q on %s", inf["connected_slaves"], old.Addr)
	}
	if _, err := old.Do("CONFIG", "SET", "min-replicas-to-write", strconv.Itoa(n+1)); err != nil {
		s.tb.Fatalf("testenv: CONFIG SET min-replicas-to-write on %s: %v", old.Addr, err)
	}
	s.WaitSynced(time.Until(deadline))
	promoted := s.Failover(time.Until(deadline))
	s.waitInfo(old, "role", "slave", deadline)
	if _, err := old.Do("CONFIG", "SET", "min-replicas-to-write", "0"); err != nil {
		s.tb.Fatalf("testenv: CONFIG SET min-replicas-to-write on %s: %v", old.Addr, err)
	}
	return promoted
}

// waitInfo waits until n's INFO replication field is want.
func (s *SentinelSet) waitInfo(n *RedisNode, field, want string, deadline time.Time) {
	s.tb.Helper()
	for {
		inf, err := n.Info("replication")
		if err == nil && inf[field] == want {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("testenv: %s: INFO %s is %q, want %q (%v)\n%s", n.Addr, field, inf[field], want, err, s.Sentinel.LogTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
