package app

import (
	"context"
	"slices"
	"testing"

	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// TestSecretKeys: the backup-code key and every TOTP secret are secrets
// (sealed at rest); the record of a user's factors is not (it holds only
// HMACs and ids); a rewrap finds each verified TOTP secret.
func TestSecretKeys(t *testing.T) {
	for k, want := range map[string]bool{
		mfa.KeyName:                         true,
		"secrets:csrf":                      true,
		mfa.SecretPrefix + "totp:user_1:x":  true,
		mfa.SecretPrefix + "pending:user_1": true,
		"mfa:state:user_1":                  false,
		"mfa:enrolled":                      false,
	} {
		if IsSecretKey(k) != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", k, !want, want)
		}
	}
	st := bolttest.Open(t)
	s, err := New(Config{}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.MFA.Config(); !c.TOTP || !c.BackupCodes || c.PhoneCode || c.Required || c.Issuer != "authgate" {
		t.Fatalf("default second factors %+v", c)
	}
	ctx := context.Background()
	en, err := s.MFA.Enroll(ctx, "user_1", "ada")
	if err != nil {
		t.Fatal(err)
	}
	code, err := mfa.CodeAt(en.Secret, s.Config.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MFA.Verify(ctx, "user_1", code); err != nil {
		t.Fatal(err)
	}
	all, err := s.AllSecretKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := mfa.SecretPrefix + "totp:user_1:" + en.ID
	if !slices.Contains(all, want) || !IsSecretKey(want) || !slices.Contains(all, mfa.KeyName) {
		t.Fatalf("AllSecretKeys %v, want the fixed keys and %s", all, want)
	}
}
