package guard_test

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
)

// newClock is the settable clock for Options.Now, so breaker and
// throttle timing is tested without sleeping.
func newClock() *testenv.Clock { return testenv.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// fakeStore answers every method the same configurable way and counts
// the calls that reach it.
type fakeStore struct {
	calls atomic.Int64
	mu    sync.Mutex
	err   error         // returned by every call when block is false
	block bool          // calls wait for ctx (or release) and return ctx.Err()
	gate  chan struct{} // when set, calls wait for it to be closed first
}

// fail makes every call return err (nil: succeed).
func (f *fakeStore) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.block = err, false
}

// hang makes every call block until its context is done, like a paused
// server, and return the bare context error.
func (f *fakeStore) hang() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.block = true
}

// hold makes calls wait until the returned function is called.
func (f *fakeStore) hold() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.gate = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.gate = nil
			f.mu.Unlock()
			close(ch)
		})
	}
}

func (f *fakeStore) do(ctx context.Context) error {
	f.calls.Add(1)
	f.mu.Lock()
	err, block, gate := f.err, f.block, f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *fakeStore) Get(ctx context.Context, _ string) ([]byte, error) {
	if err := f.do(ctx); err != nil {
		return nil, err
	}
	return []byte("v"), nil
}

func (f *fakeStore) Put(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	return f.do(ctx)
}

func (f *fakeStore) Create(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	return f.do(ctx)
}

func (f *fakeStore) Delete(ctx context.Context, _ ...string) error { return f.do(ctx) }

func (f *fakeStore) CompareAndDelete(ctx context.Context, _ string, _ []byte) (bool, error) {
	err := f.do(ctx)
	return err == nil, err
}

func (f *fakeStore) Update(ctx context.Context, _ string, fn store.UpdateFunc) error {
	if err := f.do(ctx); err != nil {
		return err
	}
	_, _, err := fn(nil, false)
	return err
}

func (f *fakeStore) Incr(ctx context.Context, _ string, _ time.Duration) (int64, error) {
	if err := f.do(ctx); err != nil {
		return 0, err
	}
	return 1, nil
}

func (f *fakeStore) CreateIndexed(ctx context.Context, _ string, _ []byte, _ map[string]string) error {
	return f.do(ctx)
}

func (f *fakeStore) DeleteIndexed(ctx context.Context, _ string, _ []string) error {
	return f.do(ctx)
}

func (f *fakeStore) AddMember(ctx context.Context, _, _ string, _ time.Duration) error {
	return f.do(ctx)
}

func (f *fakeStore) RemoveMember(ctx context.Context, _ string, _ ...string) error {
	return f.do(ctx)
}

func (f *fakeStore) Members(ctx context.Context, _ string) ([]string, error) {
	if err := f.do(ctx); err != nil {
		return nil, err
	}
	return []string{"m"}, nil
}

func (f *fakeStore) Allow(ctx context.Context, _ string, _ int, _ time.Duration) (store.RateResult, error) {
	if err := f.do(ctx); err != nil {
		return store.RateResult{}, err
	}
	return store.RateResult{Allowed: true}, nil
}

func (f *fakeStore) Ping(ctx context.Context) error { return f.do(ctx) }

func (f *fakeStore) Close() error { return nil }
