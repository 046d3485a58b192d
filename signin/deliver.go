package signin

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/notify"
)

// DefaultPoolSize is how many deliveries a Pool made by New runs at once
// when Deps.Pool is nil.
const DefaultPoolSize = 64

// Pool runs deliveries (codes with enumeration protection on, notices) in
// the background, at most size at a time. It is injected through Deps so
// that whoever builds the services (and their tests) can wait for it.
type Pool struct {
	size int
	log  *zap.Logger

	mu      sync.Mutex
	idle    *sync.Cond
	running int
}

// NewPool returns a pool that runs at most size deliveries at once.
func NewPool(size int, log *zap.Logger) *Pool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	if log == nil {
		log = zap.NewNop()
	}
	p := &Pool{size: size, log: log}
	p.idle = sync.NewCond(&p.mu)
	return p
}

// Go runs fn in a goroutine if fewer than size are running; otherwise it
// drops the work with an error log: a stalled mail or SMS server must not
// pile up goroutines. It reports whether fn was started.
func (p *Pool) Go(fn func()) bool {
	p.mu.Lock()
	if p.running >= p.size {
		p.mu.Unlock()
		p.log.Error("too many deliveries in flight; dropping one (the code or notice is not sent)")
		return false
	}
	p.running++
	p.mu.Unlock()
	go func() {
		defer p.done()
		fn()
	}()
	return true
}

func (p *Pool) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running--
	if p.running == 0 {
		p.idle.Broadcast()
	}
}

// deliveryTimeout bounds one background delivery: it runs after the
// request that caused it has returned.
const deliveryTimeout = 30 * time.Second

// DeliveryContext is the context of a delivery that outlives the request
// that caused it (not the request's, which ends first), bounded by the
// delivery timeout.
func DeliveryContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), deliveryTimeout)
}

// GoDeliver is Go for a delivery: deliver runs with a DeliveryContext.
func (p *Pool) GoDeliver(deliver func(ctx context.Context)) bool {
	return p.Go(func() {
		ctx, cancel := DeliveryContext()
		defer cancel()
		deliver(ctx)
	})
}

// Running is how many deliveries are in flight (for a queue-depth gauge).
func (p *Pool) Running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// Wait blocks until no delivery is running. Unlike filling a semaphore,
// it does not make deliveries started meanwhile get dropped.
func (p *Pool) Wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.running > 0 {
		p.idle.Wait()
	}
}

// background runs a delivery on the pool (GoDeliver); dropped work is an
// audit event.
func (s *Service) background(fn func(ctx context.Context)) {
	if !s.pool.GoDeliver(fn) {
		s.emit(context.Background(), "delivery_dropped")
	}
}

// discardSink is the default Deps.Discard: it renders the notice as a
// sender would (the same templates, the same checks), so that a code for
// an unknown identifier costs what a real one does, and drops it.
type discardSink struct{}

func (discardSink) Deliver(_ context.Context, n notify.Notice) error {
	m := notify.Message{Kind: n.Kind, To: n.To, Code: n.Code, ExpiresIn: n.ExpiresIn}
	var err error
	if n.Channel == notify.ChannelSMS {
		_, err = notify.DefaultTemplates().RenderSMS(m)
	} else {
		_, err = notify.DefaultTemplates().RenderEmail(m)
	}
	return err
}
