package mfa

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/pquerna/otp"
)

// TestRFC6238Vectors checks the code computation against the SHA-1 test
// vectors of RFC 6238 Appendix B (8 digits, the ASCII seed
// "12345678901234567890"), and that the 6-digit codes users type are the
// vectors' last six digits (RFC 4226 truncation modulo 10^6).
func TestRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := generate(secret, v.unix/period, otp.DigitsEight)
		if err != nil || got != v.want {
			t.Errorf("T=%d: %q, %v; want %s", v.unix, got, err, v.want)
		}
		six, err := CodeAt(secret, time.Unix(v.unix, 0))
		if err != nil || six != v.want[2:] {
			t.Errorf("T=%d, 6 digits: %q, %v; want %s", v.unix, six, err, v.want[2:])
		}
	}
}

// TestEnrollURI: the otpauth URI carries the issuer, the account, the
// secret and RFC 6238's parameters, as authenticator apps read them.
func TestEnrollURI(t *testing.T) {
	e := newEnv(t, false, allOn)
	en, err := e.svc.Enroll(e.ctx, "user_1", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Acme Portal:ada@example.com" ||
		q.Get("issuer") != "Acme Portal" || q.Get("secret") != en.Secret || q.Get("algorithm") != "SHA1" ||
		q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("uri %s", en.URI)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v; want 160 bits", en.Secret, len(raw), err)
	}
	if !en.ExpireAt.Equal(start.Add(e.svc.Config().EnrollTTL)) || !strings.HasPrefix(en.ID, "totp_") {
		t.Fatalf("enrollment %+v", en)
	}
}

func TestEnrollVerifyStatus(t *testing.T) {
	e := newEnv(t, false, allOn)
	if st := e.status("user_1"); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("before: %+v", st)
	}
	en, err := e.svc.Enroll(e.ctx, "user_1", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Verify(e.ctx, "user_1", otherCode(e.code(en.Secret, 0))); !errors.Is(err, ErrCodeIncorrect) {
		t.Fatalf("wrong first code: %v", err)
	}
	if e.status("user_1").Enabled() {
		t.Fatal("a wrong first code enabled the app")
	}
	v, err := e.svc.Verify(e.ctx, "user_1", e.code(en.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != en.ID || len(v.BackupCodes) != BackupCodeCount {
		t.Fatalf("verified %+v, want %s with %d backup codes", v, en.ID, BackupCodeCount)
	}
	st := e.status("user_1")
	if !st.TOTP || !st.Enabled() || st.TOTPID != en.ID || st.BackupCodes != BackupCodeCount {
		t.Fatalf("after: %+v", st)
	}
	// The code that verified the app does not sign in: its step is used.
	if e.checkTOTP("user_1", e.code(en.Secret, 0)) {
		t.Fatal("the verification code was accepted again")
	}
	// A second app needs the first removed.
	if _, err := e.svc.Enroll(e.ctx, "user_1", "ada"); !errors.Is(err, ErrTOTPExists) {
		t.Fatalf("second enrollment: %v", err)
	}
	// Verifying the finished enrollment again changes nothing.
	if _, err := e.svc.Verify(e.ctx, "user_1", e.code(en.Secret, 1)); !errors.Is(err, ErrNoEnrollment) {
		t.Fatalf("verifying twice: %v", err)
	}
	if !e.status("user_1").TOTP {
		t.Fatal("the second verification removed the app")
	}
}

func TestEnrollmentExpires(t *testing.T) {
	e := newEnv(t, false, allOn)
	en, err := e.svc.Enroll(e.ctx, "user_1", "ada")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e.svc.Config().EnrollTTL)
	if _, err := e.svc.Verify(e.ctx, "user_1", e.code(en.Secret, 0)); !errors.Is(err, ErrNoEnrollment) {
		t.Fatalf("verifying after %s: %v", e.svc.Config().EnrollTTL, err)
	}
}

// TestTOTPReplay: a code works once; a code of an earlier step than one
// already used does not work either (RFC 6238 §5.2).
func TestTOTPReplay(t *testing.T) {
	e := newEnv(t, false, allOn)
	secret, _ := e.enrolled("user_1")
	now := e.code(secret, 0)
	if !e.checkTOTP("user_1", now) {
		t.Fatal("current code refused")
	}
	if e.checkTOTP("user_1", now) {
		t.Fatal("the same code was accepted twice")
	}
	if e.checkTOTP("user_1", e.code(secret, -1)) {
		t.Fatal("the previous step's code was accepted after the current one was used")
	}
	e.clock.Advance(period * time.Second)
	if !e.checkTOTP("user_1", e.code(secret, 0)) {
		t.Fatal("the next step's code was refused")
	}
}

// TestTOTPSkew: one step either side of now is accepted, two are not.
func TestTOTPSkew(t *testing.T) {
	e := newEnv(t, false, allOn)
	secret, _ := e.enrolled("user_1")
	// Two steps on, the step before now was never used. The accepted
	// cases come last and in time order, as each makes earlier steps used.
	e.clock.Advance(2 * period * time.Second)
	for _, tc := range []struct {
		steps int
		ok    bool
	}{{-2, false}, {2, false}, {-1, true}, {1, true}} {
		if got := e.checkTOTP("user_1", e.code(secret, tc.steps)); got != tc.ok {
			t.Errorf("code %+d steps away: accepted %v, want %v", tc.steps, got, tc.ok)
		}
	}
}

func TestTOTPMalformedAndOff(t *testing.T) {
	e := newEnv(t, false, allOn)
	secret, _ := e.enrolled("user_1")
	for _, c := range []string{"", "12345", "1234567", "12345a", " " + e.code(secret, 0)} {
		if e.checkTOTP("user_1", c) {
			t.Errorf("%q accepted", c)
		}
	}
	off := e.service(Config{BackupCodes: true})
	if ok, err := off.CheckTOTP(e.ctx, "user_1", e.code(secret, 0)); ok || err != nil {
		t.Fatalf("totp off: %v, %v", ok, err)
	}
	if st, _ := off.Status(e.ctx, "user_1"); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("totp off: status %+v, want no second factor and no backup codes", st)
	}
}

// TestTOTPConcurrentReplay: 20 requests race with one right code; one
// is accepted.
func TestTOTPConcurrentReplay(t *testing.T) {
	backends(t, func(t *testing.T, redis bool) {
		e := newEnv(t, redis, allOn)
		secret, _ := e.enrolled("user_1")
		code := e.code(secret, 0)
		var ok atomic.Int32
		race(t, 20, func(int) error {
			got, err := e.svc.CheckTOTP(e.ctx, "user_1", code)
			if got {
				ok.Add(1)
			}
			return err
		})
		if ok.Load() != 1 {
			t.Fatalf("%d of 20 concurrent uses of one code accepted, want 1", ok.Load())
		}
	})
}

func TestDisableTOTP(t *testing.T) {
	e := newEnv(t, false, allOn)
	secret, _ := e.enrolled("user_1")
	keys, err := e.svc.SecretKeys(e.ctx)
	if err != nil || len(keys) != 1 || !IsSecretKey(keys[0]) {
		t.Fatalf("secret keys %v, %v", keys, err)
	}
	if err := e.svc.DisableTOTP(e.ctx, "user_1"); err != nil {
		t.Fatal(err)
	}
	if st := e.status("user_1"); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("after disabling: %+v, want nothing (backup codes go with the last factor)", st)
	}
	if e.checkTOTP("user_1", e.code(secret, 0)) {
		t.Fatal("a removed app's code was accepted")
	}
	if keys, _ := e.svc.SecretKeys(e.ctx); len(keys) != 0 {
		t.Fatalf("secret keys after disabling: %v", keys)
	}
	if _, err := e.st.Get(e.ctx, keys[0]); err == nil {
		t.Fatal("the secret is still stored")
	}
	if err := e.svc.DisableTOTP(e.ctx, "user_1"); !errors.Is(err, ErrNoTOTP) {
		t.Fatalf("disabling twice: %v", err)
	}
}

func TestRequiredKeepsLastFactor(t *testing.T) {
	cfg := allOn
	cfg.Required = true
	e := newEnv(t, false, cfg)
	e.enrolled("user_1")
	if err := e.svc.DisableTOTP(e.ctx, "user_1"); !errors.Is(err, ErrFactorRequired) {
		t.Fatalf("removing the only factor: %v", err)
	}
	if _, err := e.svc.ReservePhone(e.ctx, "user_1", "idn_phone", true); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DisableTOTP(e.ctx, "user_1"); err != nil {
		t.Fatalf("removing the app with a phone left: %v", err)
	}
	if _, err := e.svc.ReservePhone(e.ctx, "user_1", "idn_phone", false); !errors.Is(err, ErrFactorRequired) {
		t.Fatalf("releasing the last phone: %v", err)
	}
	// An administrator's reset removes everything, required or not.
	had, err := e.svc.Reset(e.ctx, "user_1")
	if err != nil || !had || e.status("user_1").Enabled() {
		t.Fatalf("reset: %v, %v, %+v", had, err, e.status("user_1"))
	}
}

func TestReset(t *testing.T) {
	e := newEnv(t, false, allOn)
	secret, _ := e.enrolled("user_1")
	if _, err := e.svc.Enroll(e.ctx, "user_2", "bob"); err != nil {
		t.Fatal(err)
	}
	had, err := e.svc.Reset(e.ctx, "user_1")
	if err != nil || !had {
		t.Fatalf("reset: %v, %v", had, err)
	}
	if e.checkTOTP("user_1", e.code(secret, 0)) || e.status("user_1").BackupCodes != 0 {
		t.Fatal("factors survived the reset")
	}
	if keys, _ := e.svc.SecretKeys(e.ctx); len(keys) != 0 {
		t.Fatalf("secret keys after reset: %v", keys)
	}
	if had, err := e.svc.Reset(e.ctx, "user_2"); err != nil || had {
		t.Fatalf("reset of a user with an unfinished enrollment only: %v, %v", had, err)
	}
	if _, err := e.svc.Verify(e.ctx, "user_2", "000000"); !errors.Is(err, ErrNoEnrollment) {
		t.Fatalf("the unfinished enrollment survived the reset: %v", err)
	}
}

// race runs fn n times at once and fails on any error.
func race(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	testenv.Together(n, func(i int) { errs <- fn(i) })
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}
