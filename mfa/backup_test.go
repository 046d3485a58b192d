package mfa

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/internal/seal"
)

// TestBackupCodesSingleUseUnderConcurrency: 20 requests race with one
// backup code (exactly one wins), and 20 more with ten codes, two each
// (exactly ten win), on bbolt and on Redis.
func TestBackupCodesSingleUseUnderConcurrency(t *testing.T) {
	backends(t, func(t *testing.T, redis bool) {
		e := newEnv(t, redis, allOn)
		_, codes := e.enrolled("user_1")
		var won atomic.Int32
		race(t, 20, func(int) error {
			ok, err := e.svc.UseBackupCode(e.ctx, "user_1", codes[0])
			if ok {
				won.Add(1)
			}
			return err
		})
		if won.Load() != 1 {
			t.Fatalf("%d of 20 concurrent uses of one backup code succeeded, want 1", won.Load())
		}
		if n := e.status("user_1").BackupCodes; n != BackupCodeCount-1 {
			t.Fatalf("%d codes left, want %d", n, BackupCodeCount-1)
		}
		set, err := e.svc.RegenerateBackupCodes(e.ctx, "user_1")
		if err != nil {
			t.Fatal(err)
		}
		won.Store(0)
		race(t, 2*BackupCodeCount, func(i int) error {
			ok, err := e.svc.UseBackupCode(e.ctx, "user_1", set.Codes[i/2])
			if ok {
				won.Add(1)
			}
			return err
		})
		if won.Load() != BackupCodeCount || e.status("user_1").BackupCodes != 0 {
			t.Fatalf("%d of %d codes used twice each succeeded (%d left), want each once",
				won.Load(), BackupCodeCount, e.status("user_1").BackupCodes)
		}
	})
}

func TestBackupCodes(t *testing.T) {
	e := newEnv(t, false, allOn)
	_, codes := e.enrolled("user_1")
	if len(codes) != BackupCodeCount || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != BackupCodeCount {
		t.Fatalf("codes %v: want %d different ones", codes, BackupCodeCount)
	}
	for _, c := range codes {
		if !wellFormedBackupCode(c) {
			t.Fatalf("code %q is not in the backup-code alphabet", c)
		}
	}
	use := func(c string) bool {
		t.Helper()
		ok, err := e.svc.UseBackupCode(e.ctx, "user_1", c)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Typed with capitals and a hyphen, as a user copies it from paper.
	if !use(strings.ToUpper(codes[0][:5]) + "-" + codes[0][5:]) {
		t.Fatal("a right code typed in capitals with a hyphen was refused")
	}
	if use(codes[0]) {
		t.Fatal("a used code was accepted again")
	}
	if use("zzzzzzzzzz") || use("") || use(codes[1]+"x") {
		t.Fatal("a wrong code was accepted")
	}
	// Codes are per user.
	if ok, _ := e.svc.UseBackupCode(e.ctx, "user_2", codes[1]); ok {
		t.Fatal("user_1's code worked for user_2")
	}
	// A new set replaces the old one.
	set, err := e.svc.RegenerateBackupCodes(e.ctx, "user_1")
	if err != nil || len(set.Codes) != BackupCodeCount || !strings.HasPrefix(set.ID, "bcode_") {
		t.Fatalf("regenerate: %+v, %v", set, err)
	}
	if use(codes[1]) {
		t.Fatal("a code of the replaced set was accepted")
	}
	if !use(set.Codes[9]) {
		t.Fatal("a code of the new set was refused")
	}
	// Without a second factor there are no backup codes.
	if _, err := e.svc.RegenerateBackupCodes(e.ctx, "user_2"); !errors.Is(err, ErrNoFactor) {
		t.Fatalf("backup codes without a factor: %v", err)
	}
	off := e.service(Config{TOTP: true})
	if _, err := off.RegenerateBackupCodes(e.ctx, "user_1"); !errors.Is(err, ErrBackupCodesOff) {
		t.Fatalf("backup codes off: %v", err)
	}
	if ok, _ := off.UseBackupCode(e.ctx, "user_1", set.Codes[0]); ok {
		t.Fatal("a backup code worked with backup codes off")
	}
}

// TestStoredAsHashes: no backup code and no TOTP secret appear in the
// store in the clear; the secret is sealed under the prefix IsSecretKey
// names, and the service still reads it through the sealing layer.
func TestStoredAsHashes(t *testing.T) {
	e := newEnv(t, false, allOn)
	ring, err := seal.NewKeyring(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	raw := e.st
	e.st = seal.Wrap(raw, ring, IsSecretKey, nil)
	e.svc = e.service(allOn)
	secret, codes := e.enrolled("user_1")
	ctx := context.Background()
	state, err := raw.Get(ctx, stateKey("user_1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if strings.Contains(string(state), c) {
			t.Fatalf("backup code %s stored in the clear: %s", c, state)
		}
	}
	keys, err := e.svc.SecretKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("secret keys %v, %v", keys, err)
	}
	sealed, err := raw.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(sealed), "agseal1.") || strings.Contains(string(sealed), secret) {
		t.Fatalf("stored secret is not sealed: %s", sealed)
	}
	if !e.checkTOTP("user_1", e.code(secret, 0)) {
		t.Fatal("the sealed secret does not check codes")
	}
}

func TestReservePhone(t *testing.T) {
	e := newEnv(t, false, allOn)
	codes, err := e.svc.ReservePhone(e.ctx, "user_1", "idn_a", true)
	if err != nil || len(codes) != BackupCodeCount {
		t.Fatalf("first phone: %d codes, %v; want the first backup codes", len(codes), err)
	}
	if again, err := e.svc.ReservePhone(e.ctx, "user_1", "idn_b", true); err != nil || again != nil {
		t.Fatalf("second phone: %v, %v; want no new codes", again, err)
	}
	if st := e.status("user_1"); !st.Enabled() || st.TOTP || !slices.Equal(st.Phones, []string{"idn_a", "idn_b"}) || st.BackupCodes != BackupCodeCount {
		t.Fatalf("status %+v", st)
	}
	// Without phone_code the phones are not a second factor.
	noPhone := e.service(Config{TOTP: true, BackupCodes: true})
	if st, _ := noPhone.Status(e.ctx, "user_1"); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("phone_code off: %+v", st)
	}
	if _, err := noPhone.ReservePhone(e.ctx, "user_1", "idn_a", false); !errors.Is(err, ErrPhoneCodeOff) {
		t.Fatalf("phone_code off: %v", err)
	}
	for _, id := range []string{"idn_a", "idn_b"} {
		if _, err := e.svc.ReservePhone(e.ctx, "user_1", id, false); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.status("user_1"); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("after releasing both: %+v", st)
	}
}
