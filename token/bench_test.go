package token

import (
	"context"
	"testing"

	"github.com/authgate/authgate/store/bolt/bolttest"
)

// benchKeyring returns a loaded keyring (real clock, real bbolt store) and
// a token.
func benchKeyring(b *testing.B, alg string, cacheSize int) (*Keyring, string) {
	b.Helper()
	k := newLoaded(b, bolttest.Open(b), Config{Alg: alg, CacheSize: cacheSize, Lifetime: MaxLifetime}, nil)
	tok, _ := mint(b, k, baseClaims())
	return k, tok
}

// BenchmarkVerifyCached is the gate's per-request cost for a token it has
// seen before: a sharded map lookup plus time and issuer checks.
func BenchmarkVerifyCached(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			k, tok := benchKeyring(b, alg, 0)
			ctx := context.Background()
			if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCachedParallel is BenchmarkVerifyCached from all CPUs.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	k, tok := benchKeyring(b, AlgRS256, 0)
	ctx := context.Background()
	if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyUncached is the full verification: framing, header and
// claims parsing and the signature check.
func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			k, tok := benchKeyring(b, alg, -1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMint is the cost of issuing a token (inline refresh).
func BenchmarkMint(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			k, _ := benchKeyring(b, alg, 0)
			ctx := context.Background()
			c := baseClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := k.Mint(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
