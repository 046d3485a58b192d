package app

import (
	"slices"
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

// TestPhoneCountriesForAddingAPhone: a user adds a phone where sign-up
// may text; with sign-up off (every account an administrator's) in any
// country; with sign-up on and no phone_countries in none.
func TestPhoneCountriesForAddingAPhone(t *testing.T) {
	st := bolttest.Open(t)
	for _, tc := range []struct {
		name  string
		up    signup.Config
		want  []string
		wantN int
	}{
		{"sign-up off", signup.Config{}, []string{"US", "GB", "IN"}, 200},
		{"sign-up by email", signup.Config{Enabled: true}, nil, 0},
		{"sign-up by phone in CA", signup.Config{Enabled: true, PhoneCountries: []string{"CA"}}, []string{"CA"}, 1},
	} {
		s, err := New(Config{SignUp: tc.up}, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := s.SignIn.Config().PhoneCountries
		if len(got) < tc.wantN || (tc.wantN <= 1 && len(got) != tc.wantN) {
			t.Fatalf("%s: %d countries %v, want %d", tc.name, len(got), got, tc.wantN)
		}
		for _, c := range tc.want {
			if !slices.Contains(got, c) {
				t.Fatalf("%s: %v lacks %s", tc.name, got, c)
			}
		}
	}
}
