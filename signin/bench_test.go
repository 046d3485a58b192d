package signin

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	redisstore "github.com/authgate/authgate/store/redis"
	"github.com/authgate/authgate/users"
)

// BenchmarkCodeSendVerify measures a sign-in by email code as clerk-js
// runs it: create the attempt with the identifier, prepare email_code
// (the code is drawn, its MAC stored and the notice handed to the
// background delivery pool; the send ends when the recording deliverer
// has it, waited for through the pool), then attempt_first_factor with
// that code, which completes the sign-in (a session on the client).
// Enumeration protection is on, as by default. On bbolt and on a real
// redis-server; send-ns/op and verify-ns/op split the time per sign-in.
// Each sign-in is a new user's on a new client, both made with the
// timer stopped, so that no per-user list grows over the run.
func BenchmarkCodeSendVerify(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		e := newEnv(b, protected)
		benchCodeSendVerify(b, e, e.st)
	})
	b.Run("redis", func(b *testing.B) {
		e := newEnv(b, protected)
		opt, err := redisstore.ParseURL(testenv.Redis(b).URL())
		if err != nil {
			b.Fatal(err)
		}
		st := redisstore.New(goredis.NewUniversalClient(opt), "")
		b.Cleanup(func() { _ = st.Close() })
		benchCodeSendVerify(b, e, st)
	})
}

// codeBench is the environment's sign-in service rebuilt over st (users,
// sessions, code key and second factors all in st), delivering to rec.
type codeBench struct {
	e        *env
	svc      *Service
	users    *users.Service
	sessions *session.Manager
	rec      *lastNotice
}

func newCodeBench(b *testing.B, e *env, st store.Store) *codeBench {
	cb := &codeBench{e: e, rec: &lastNotice{}}
	cb.users = users.NewService(st, e.pw, e.clock.Now)
	if err := cb.users.Load(e.ctx); err != nil { // as app.Services.Load does at start
		b.Fatal(err)
	}
	cb.sessions = session.NewManager(st, 24*time.Hour, e.clock.Now)
	cb.svc = e.instance(func(d *Deps) {
		d.Store, d.Users, d.Sessions, d.Deliver = st, cb.users, cb.sessions, cb.rec
		d.CodeKey = secret.New(st, CodeKeyName)
		d.SecondFactors = mfa.New(mfaOn, mfa.Deps{Store: st, Key: secret.New(st, mfa.KeyName), Now: e.clock.Now})
	})
	return cb
}

func benchCodeSendVerify(b *testing.B, e *env, st store.Store) {
	cb := newCodeBench(b, e, st)
	cb.signIn(b, cb.newcomer(b, 0)) // warms the code key and the store connections
	var send, verify time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	i := 1
	for b.Loop() {
		b.StopTimer()
		who := cb.newcomer(b, i)
		b.StartTimer()
		s, v := cb.signIn(b, who)
		send, verify = send+s, verify+v
		i++
	}
	b.ReportMetric(float64(send.Nanoseconds())/float64(b.N), "send-ns/op")
	b.ReportMetric(float64(verify.Nanoseconds())/float64(b.N), "verify-ns/op")
}

// newcomer is user i (an email address only) on a new client.
type newcomer struct {
	rq    Request
	email string
}

func (cb *codeBench) newcomer(b *testing.B, i int) newcomer {
	email := fmt.Sprintf("user%d@example.com", i)
	if _, err := cb.users.Create(cb.e.ctx, users.NewUser{Emails: []string{email}}); err != nil {
		b.Fatal(err)
	}
	c, _, err := cb.sessions.NewClient(cb.e.ctx)
	if err != nil {
		b.Fatal(err)
	}
	return newcomer{rq: Request{Client: c}, email: email}
}

// signIn signs the newcomer in by email code and returns the time
// of the send (create + prepare + delivery) and of the verification.
func (cb *codeBench) signIn(b *testing.B, who newcomer) (send, verify time.Duration) {
	ctx, rq := cb.e.ctx, who.rq
	t0 := time.Now()
	res, err := cb.svc.Create(ctx, rq, CreateParams{Identifier: who.email})
	if err != nil {
		b.Fatal(err)
	}
	id := res.Attempt.ID
	if _, err := cb.svc.Prepare(ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		b.Fatal(err)
	}
	cb.e.pool.Wait()
	n := cb.rec.get()
	t1 := time.Now()
	if n.To != who.email || !codes.WellFormed(n.Code) {
		b.Fatalf("delivered %+v, want a code to %s", n, who.email)
	}
	res, err = cb.svc.AttemptFirstFactor(ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: n.Code})
	if err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	if res.Session == nil {
		b.Fatalf("the right code did not complete the sign-in: %+v", res.Attempt)
	}
	return t1.Sub(t0), t2.Sub(t1)
}

// lastNotice is a recording deliverer that keeps only the latest
// notice: testenv.Outbox keeps them all, and reading it copies them,
// which over a benchmark's many sign-ins would cost more than a sign-in.
type lastNotice struct {
	mu sync.Mutex
	n  notify.Notice
}

func (l *lastNotice) Deliver(_ context.Context, n notify.Notice) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n = n
	return nil
}

func (l *lastNotice) get() notify.Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}
