package signin

import (
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
)

func TestPoolRunsAndWaits(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	p := NewPool(2, zap.New(core))
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	done := make(chan int, 2)
	for i := range 2 {
		if !p.Go(func() { started <- struct{}{}; <-release; done <- i }) {
			t.Fatalf("job %d was dropped", i)
		}
	}
	<-started
	<-started
	if p.Go(func() { t.Error("a job beyond the pool size ran") }) {
		t.Fatal("a full pool took a job")
	}
	if logs.FilterMessageSnippet("dropping one").Len() != 1 {
		t.Fatal("the dropped job was not logged")
	}
	close(release)
	p.Wait()
	if len(done) != 2 {
		t.Fatalf("Wait returned with %d of 2 jobs done", len(done))
	}
	// Room again once they finished.
	ran := false
	p.Go(func() { ran = true })
	p.Wait()
	if !ran {
		t.Fatal("the pool did not run a job after draining")
	}
}

func TestDroppedDeliveryIsAnEvent(t *testing.T) {
	e := newEnv(t, protected)
	u := e.ada()
	release := make(chan struct{})
	for range e.pool.size {
		e.pool.Go(func() { <-release })
	}
	e.svc.Notify(u, notify.KindPasswordChanged)
	close(release)
	e.pool.Wait()
	e.ev.one(t, "delivery_dropped")
	if len(e.out.all(e.pool)) != 0 {
		t.Fatal("a dropped notice was delivered")
	}
}

// Without enumeration protection a failed delivery is an error; with it
// the answer is the same as for a sent code, and the code is unusable.
func TestUndeliverableCode(t *testing.T) {
	e := newEnv(t)
	e.ada()
	e.out.failWith(errors.New("smtp down"))
	_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Strategy: StrategyEmailCode, Identifier: adaEmail})
	wantErr(t, err, apierr.DeliveryFailed, "")
	e.ev.one(t, "code_delivery_failed")

	e = newEnv(t, protected)
	e.ada()
	e.out.failWith(errors.New("smtp down"))
	rq := e.request()
	res := e.create(rq, CreateParams{Strategy: StrategyEmailCode, Identifier: adaEmail})
	e.pool.Wait()
	e.ev.one(t, "code_delivery_failed")
	if e.logs.FilterMessageSnippet("delivering verification code failed").Len() != 1 {
		t.Fatal("the failure was not logged")
	}
	if _, err := e.st.Get(e.ctx, codeKey(res.Attempt.ID)); err == nil {
		t.Fatal("the undelivered code is still stored")
	}
}
