package caddymodule

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// TestSignUpConfigResolved: what each sign_up form gives the services.
// No block is off; a bare line is email alone, no username, no phone
// country; the block is what it says, and lower-case codes reach
// the services upper-case.
func TestSignUpConfigResolved(t *testing.T) {
	for _, tc := range []struct {
		golden string
		want   signup.Config
	}{
		{"bare_global_only", signup.Config{}},
		{"global_sign_up_bare", signup.Config{Enabled: true, Identifiers: []users.Kind{users.KindEmail}, Username: signup.UsernameOff}},
		{"global_sign_up", signup.Config{
			Enabled: true, Identifiers: []users.Kind{users.KindEmail, users.KindPhone},
			Username: signup.UsernameOptional, PhoneCountries: []string{"US", "CA", "GB"},
		}},
		{"global_sign_up_lower_case", signup.Config{
			Enabled: true, Identifiers: []users.Kind{users.KindPhone},
			Username: signup.UsernameRequired, PhoneCountries: []string{"US", "GB"},
		}},
	} {
		app := decodeApp(t, adaptedJSON(t, tc.golden+".caddyfiletest"))
		if got := app.SignUp.resolved(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: services get %+v, want %+v", tc.golden, got, tc.want)
		}
		app.applyDefaults()
		if err := app.Validate(); err != nil {
			t.Errorf("%s: does not validate after defaults: %v", tc.golden, err)
		}
	}
}

// TestSignUpConfigJSON: a JSON config is checked as the Caddyfile is
// (lower-case codes accepted, a bad one refused by name), and resolving
// never changes the configuration Caddy holds.
func TestSignUpConfigJSON(t *testing.T) {
	var app App
	if err := json.Unmarshal([]byte(`{"sign_up":{"identifiers":["phone"],"phone_countries":["ca","Gb"]}}`), &app); err != nil {
		t.Fatal(err)
	}
	if err := app.Validate(); err != nil {
		t.Fatalf("lower-case codes refused: %v", err)
	}
	if got := app.SignUp.resolved().PhoneCountries; !reflect.DeepEqual(got, []string{"CA", "GB"}) {
		t.Fatalf("countries %v, want [CA GB]", got)
	}
	if app.SignUp.PhoneCountries[0] != "ca" || app.SignUp.Username != "" {
		t.Fatalf("resolving changed the configuration: %+v", app.SignUp)
	}
	for in, want := range map[string]string{
		`{"sign_up":{"identifiers":["phone"],"phone_countries":["001"]}}`:     `"001" is not an ISO 3166-1 alpha-2 region code`,
		`{"sign_up":{"identifiers":["phone"],"phone_countries":["zz"]}}`:      `"ZZ" is not an ISO 3166-1 alpha-2 region code`,
		`{"sign_up":{"identifiers":["phone"],"phone_countries":["USA"]}}`:     `"USA" is not an ISO 3166-1 alpha-2 region code`,
		`{"sign_up":{"identifiers":["username"]}}`:                            `unknown identifier "username"`,
		`{"sign_up":{"username":"on"}}`:                                       `unknown username mode "on"`,
		`{"sign_up":{"identifiers":["email"],"phone_countries":["US"]}}`:      `phone_countries needs phone among the identifiers`,
		`{"sign_up":{"identifiers":["phone","email","phone"]}}`:               `"phone" given more than once`,
		`{"sign_up":{"identifiers":["phone"],"phone_countries":["gb","GB"]}}`: `"GB" given more than once`,
	} {
		var a App
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		err := a.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", in, err, want)
		}
	}
}

// TestSignUpWarning: phone sign-up with no country is valid (the
// default: no country is open until named) but Provision warns about it;
// the other forms get no warning.
func TestSignUpWarning(t *testing.T) {
	if w := (&SignUpConfig{Identifiers: []string{"email", "phone"}}).signUpWarning(); !strings.Contains(w, "phone_countries names no country") {
		t.Fatalf("no warning for phone without countries: %q", w)
	}
	for _, s := range []*SignUpConfig{nil, {}, {Identifiers: []string{"phone"}, PhoneCountries: []string{"US"}}} {
		if w := s.signUpWarning(); w != "" {
			t.Errorf("%+v: unexpected warning %q", s, w)
		}
	}
}
