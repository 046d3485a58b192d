package caddymodule

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/authgate/authgate/mfa"
)

// TestMFAConfigRoundTrip: the issue's `mfa` block adapts to JSON that
// decodes into the app (no unknown field), gives the services exactly
// what it says, and encodes back to the same JSON.
func TestMFAConfigRoundTrip(t *testing.T) {
	raw := adaptedJSON(t, "global_mfa.caddyfiletest")
	app := decodeApp(t, raw)
	want := mfa.Config{TOTP: true, BackupCodes: true, Issuer: "Acme Portal"}
	if got := *app.MFA.resolved(); got != want {
		t.Fatalf("services get %+v, want %+v", got, want)
	}
	again := mustJSON(t, app)
	if !jsonEqual(t, again, raw) {
		t.Fatalf("re-encoded %s, adapted %s", again, raw)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		t.Fatalf("not JSON: %s / %s", a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// TestMFADefaults: without an mfa block (or with a bare one) the services
// get authenticator apps and backup codes, no SMS codes, nothing
// required, and the app's name as issuer (without ':', which would split
// the otpauth label).
func TestMFADefaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		app     App
		wantIss string
	}{
		{"no block", App{}, "authgate"},
		{"bare mfa", App{MFA: &MFAConfig{}, AppName: "Acme Portal"}, "Acme Portal"},
		{"app name with a colon", App{AppName: "Acme: Portal"}, "Acme Portal"},
	} {
		a := tc.app
		a.applyDefaults()
		if err := a.Validate(); err != nil {
			t.Fatalf("%s: defaults do not validate: %v", tc.name, err)
		}
		want := mfa.Config{TOTP: true, BackupCodes: true, Issuer: tc.wantIss}
		if got := *a.MFA.resolved(); got != want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, want)
		}
	}
	off := false
	m := &MFAConfig{TOTP: &off}
	if got := m.resolved(); got.TOTP || !got.BackupCodes || m.BackupCodes != nil {
		t.Fatalf("resolved %+v changed the configuration (%+v) or lost the setting", got, m)
	}
}
