package users

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/testenv"
	redisstore "github.com/authgate/authgate/store/redis"
)

// spreadUsers and spreadWorkers size the figure: 3,000 users created by
// 32 concurrent callers over two instances, a few seconds on loopback.
const (
	spreadUsers   = 3000
	spreadWorkers = 32
)

// TestUsersSpreadOverClusterMasters is the figure of issue 10: with three
// masters, each holds between 25 % and 42 % of authgate's keys after
// 3,000 users are created (in the layout before, one held all of them).
func TestUsersSpreadOverClusterMasters(t *testing.T) {
	cluster := testenv.RedisCluster3(t)
	b := redisBackend("cluster3", cluster.URL())
	sa, sb := b.pair(t)
	svcs := []*Service{newTestService(b, sa), newTestService(b, sb)}
	prefix := sa.(*redisstore.Store).Prefix()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range spreadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= spreadUsers; i = next.Add(1) {
				nu := NewUser{Emails: []string{fmt.Sprintf("user%d@example.com", i)}}
				if _, err := svcs[w%2].Create(ctx, nu); err != nil {
					t.Errorf("create #%d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	elapsed := time.Since(began)

	counts := make([]int, len(cluster.Nodes))
	total := 0
	for i, n := range cluster.Nodes {
		counts[i] = countNodeKeys(t, n.Addr, prefix)
		total += counts[i]
	}
	// A record and an index entry per user, and the identifier key.
	if want := 2*spreadUsers + 1; total != want {
		t.Fatalf("%d keys under %q on the masters, want %d", total, prefix, want)
	}
	for i, n := range counts {
		share := float64(n) / float64(total)
		t.Logf("master %s: %d keys, %.1f %%", cluster.Nodes[i].Addr, n, 100*share)
		if share < 0.25 || share > 0.42 {
			t.Errorf("master %s holds %.1f %% of the keys, want 25-42 %%", cluster.Nodes[i].Addr, 100*share)
		}
	}
	t.Logf("%d users created in %s (%.0f/s) by %d callers over 2 instances",
		spreadUsers, elapsed.Round(time.Millisecond), spreadUsers/elapsed.Seconds(), spreadWorkers)
	wantFound(t, svcs[1], KindEmail, "user1@example.com", mustFind(t, svcs[0], "user1@example.com"))
}

func mustFind(t *testing.T, s *Service, email string) string {
	t.Helper()
	u, err := s.Find(bg(), KindEmail, email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// countNodeKeys counts the keys under prefix on one node (SCAN talks to
// that node alone, whatever slots it holds).
func countNodeKeys(t *testing.T, addr, prefix string) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	n := 0
	iter := c.Scan(bg(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(bg()) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN %s: %v", addr, err)
	}
	return n
}
