package signup

import (
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/users"
)

// Twenty concurrent tries of one right code: it is used once, exactly one
// request completes the sign-up, and one user exists.
func TestRightCodeIsUsedOnce(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	rq := e.client()
	res := e.start(rq, newEmail)
	code := e.out.lastCode(t, e.pool)
	var completed atomic.Int32
	testenv.Together(20, func(int) {
		r, err := e.svc.AttemptVerification(e.ctx, rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
		if err == nil && r.Session != nil {
			completed.Add(1)
		}
	})
	if completed.Load() != 1 {
		t.Fatalf("%d requests completed the sign-up, want 1", completed.Load())
	}
	if _, err := e.Users.Find(e.ctx, users.KindEmail, newEmail); err != nil {
		t.Fatal(err)
	}
}

// Twenty sign-ups of one address on two instances, each with its right
// code, all verified at once: exactly one user; the others are told the
// address is taken (they proved they own it).
func TestConcurrentSignUpsOfOneAddressMakeOneUser(t *testing.T) {
	// Twenty codes to one address, twenty tries in flight at once: above
	// the per-address limits, which would refuse some before the race.
	e := newEnv(t, func(c *Config) {
		c.Enabled = true
		c.Limits.SendsPerIdentifier, c.Limits.FailuresPerIdentifier = 100, 100
	})
	other := e.instance()
	type started struct {
		svc  *Service
		rq   Request
		id   string
		code string
	}
	var all []started
	for i := range 20 {
		svc := e.svc
		if i%2 == 1 {
			svc = other
		}
		rq := e.client()
		res := e.startOn(svc, rq, newEmail)
		all = append(all, started{svc, rq, res.Attempt.ID, e.out.lastCode(t, e.pool)})
	}
	errs := make([]error, len(all))
	made := make([]string, len(all))
	testenv.Together(len(all), func(i int) {
		s := all[i]
		res, err := s.svc.AttemptVerification(e.ctx, s.rq, s.id, AttemptParams{Strategy: StrategyEmailCode, Code: s.code})
		errs[i] = err
		if err == nil && res.User != nil {
			made[i] = res.User.ID
		}
	})
	winners := 0
	for i := range all {
		switch {
		case made[i] != "":
			winners++
		default:
			wantCode(t, errs[i], "form_identifier_exists")
		}
	}
	if winners != 1 {
		t.Fatalf("%d sign-ups made a user, want 1", winners)
	}
	u, err := e.Users.Find(e.ctx, users.KindEmail, newEmail)
	if err != nil || !contains(made, u.ID) {
		t.Fatalf("the address's user %v (%v) is not the winner's", u, err)
	}
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
