package testenv

import (
	"sync"
	"testing"
)

func TestTogetherRunsEachIndexOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	Together(50, func(i int) {
		mu.Lock()
		defer mu.Unlock()
		seen[i]++
	})
	if len(seen) != 50 {
		t.Fatalf("ran %d distinct indexes, want 50", len(seen))
	}
	for i, n := range seen {
		if i < 0 || i >= 50 || n != 1 {
			t.Fatalf("index %d ran %d times", i, n)
		}
	}
}
