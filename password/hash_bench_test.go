package password_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/password"
)

// BenchmarkHashPool hashes with the parameters and the pool a deployment
// gets by default (DefaultParams; NumCPU workers, defaults.HashQueue
// waiting), from 4 callers per CPU at once, as sign-ins under load do:
// ns/op is the pool's throughput (wall time per hash), and hashes/s and
// the memory ceiling (workers × m) are reported beside it. A caller
// turned away with ErrBusy would fail the benchmark.
func BenchmarkHashPool(b *testing.B) {
	p := password.DefaultParams()
	workers := runtime.NumCPU()
	h := password.NewHasher(p, workers, defaults.HashQueue)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct-horse-battery-staple"); err != nil {
				if errors.Is(err, password.ErrBusy) {
					b.Error("pool busy: queue too short for the callers")
				} else {
					b.Error(err)
				}
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	b.ReportMetric(float64(workers)*float64(p.Memory)/1024, "MiB-ceiling")
}

// BenchmarkVerify is one verification against a default-parameter
// digest, alone (the latency a sign-in adds when the pool is idle).
func BenchmarkVerify(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 0, 0)
	ctx := context.Background()
	digest, err := h.Hash(ctx, "correct-horse-battery-staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct-horse-battery-staple", digest); err != nil || !ok {
			b.Fatalf("verify: %v %v", ok, err)
		}
	}
}
