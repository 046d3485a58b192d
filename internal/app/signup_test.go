package app

import (
	"testing"
	"time"

	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// TestSignUpTakesTheCodeRulesOfSignIn: code_ttl and code_max_attempts
// (and the send limits) of the sign-in configuration apply to sign-up's
// codes too, unless sign-up's own limits set them.
func TestSignUpTakesTheCodeRulesOfSignIn(t *testing.T) {
	st := bolttest.Open(t)
	cfg := Config{
		SignIn: signin.Config{CodeTTL: 5 * time.Minute, CodeMaxAttempts: 3, SendsPerIP: 7},
		SignUp: signup.Config{Enabled: true, Limits: signup.Limits{SendsPerIP: 9}},
	}
	s, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := s.SignUp.Config().Limits
	if l.CodeTTL != 5*time.Minute || l.CodeMaxAttempts != 3 || l.SendsPerIP != 9 || l.ResendAfter != 30*time.Second {
		t.Fatalf("sign-up limits %+v", l)
	}
	if off, _ := New(Config{}, st, nil); off.SignUp.Config().Enabled {
		t.Fatal("sign-up is on by default")
	}
}
