package testenv

import "sync"

// Together runs fn(0) … fn(n-1) in n goroutines released at the same
// moment (each waits on one start signal), and returns when all have
// returned: the shape of every concurrency test of single use, uniqueness
// and races.
func Together(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
