package testenv

import (
	"context"
	"sync"
	"testing"

	"github.com/authgate/authgate/notify"
)

// Outbox is a deliverer that keeps the notices it was given, so the flow
// tests (signin, signup) read the codes they sent without a mail server.
// FailWith makes every delivery fail (an unreachable SMTP or Twilio).
type Outbox struct {
	mu      sync.Mutex
	notices []notify.Notice
	fail    error
}

// Deliver records n, or returns the injected failure.
func (o *Outbox) Deliver(_ context.Context, n notify.Notice) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.notices = append(o.notices, n)
	return nil
}

// FailWith makes the next deliveries return err (nil: deliver again).
func (o *Outbox) FailWith(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fail = err
}

// Waiter is the background delivery pool the flows hand notices to:
// waiting for it orders a read after the sends without a sleep.
type Waiter interface{ Wait() }

// All waits for the pool's deliveries and returns every notice so far.
func (o *Outbox) All(pool Waiter) []notify.Notice {
	pool.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]notify.Notice(nil), o.notices...)
}

// Last is the latest notice; the test fails when nothing was delivered.
func (o *Outbox) Last(t testing.TB, pool Waiter) notify.Notice {
	t.Helper()
	all := o.All(pool)
	if len(all) == 0 {
		t.Fatal("nothing was delivered")
	}
	return all[len(all)-1]
}

// Breaches is a breach source (HIBP's place) of fixed passwords; an
// error set with Set makes every lookup fail.
type Breaches struct {
	mu  sync.Mutex
	bad map[string]bool
	err error
}

// Breached reports whether pw was Set as breached, or the injected error.
func (b *Breaches) Breached(_ context.Context, pw string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad[pw], b.err
}

// Set marks pw breached (when not "") and sets the lookup error.
func (b *Breaches) Set(pw string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if pw != "" {
		if b.bad == nil {
			b.bad = map[string]bool{}
		}
		b.bad[pw] = true
	}
	b.err = err
}
