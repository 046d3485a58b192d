package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
)

// Bench runs the benchmarks every backend reports, so their numbers compare:
// Get of one session-sized record from parallel goroutines (the gate's hot
// path) and serial Incr (rate limits and counters). newStore is called
// for each sub-benchmark run; Bench closes what it returns.
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Bench(b, func(b *testing.B) store.Store { ... })
//	}
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	open := func(b *testing.B) store.Store {
		b.Helper()
		s := newStore(b)
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	b.Run("Get", func(b *testing.B) { benchGet(b, open(b)) })
	b.Run("Incr", func(b *testing.B) { benchIncr(b, open(b)) })
}

func benchGet(b *testing.B, s store.Store) {
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("some session record of moderate size"), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "k"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchIncr(b *testing.B, s store.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Incr(ctx, "ctr", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
