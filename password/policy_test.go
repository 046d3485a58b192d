package password_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/password/breach"
)

var _ password.Checker = breach.Common()
var _ password.Checker = (*breach.HIBPClient)(nil)
var _ password.Checker = (*breach.Index)(nil)

// recordingChecker records what it was asked and answers from a fixed set.
type recordingChecker struct {
	mu       sync.Mutex
	asked    []string
	breached map[string]bool
	err      error
}

func (c *recordingChecker) Breached(_ context.Context, pw string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, pw)
	return c.breached[pw], c.err
}

func TestPolicyTable(t *testing.T) {
	ids := []string{"alice.wonderland+news@example.com", "bobthebuilder", "+4917667111638", "Acme Portal"}
	p := password.Policy{Breach: breach.Common()}
	tests := []struct {
		name string
		pw   string
		want error
	}{
		// C-6: no composition rules.
		{"passphrase without digits or symbols", "correct horse battery staple", nil},
		{"only lowercase", "zebracornflakes", nil},
		// C-7: common list (whole string, any case) and identifiers.
		{"top-list password", "password", password.ErrPwned},
		{"top-list password, other case", "PassWord", password.ErrPwned},
		{"top-list iloveyou", "iloveyou", password.ErrPwned},
		{"top-list qwerty123", "Qwerty123", password.ErrPwned},
		{"email address", "alice.wonderland+news@example.com", password.ErrMatchesIdentifier},
		{"email address, other case", "ALICE.Wonderland+News@Example.com", password.ErrMatchesIdentifier},
		{"email local part", "alice.wonderland+news", password.ErrMatchesIdentifier},
		{"email local part without tag", "Alice.Wonderland", password.ErrMatchesIdentifier},
		{"username", "BobTheBuilder", password.ErrMatchesIdentifier},
		{"phone number", "+4917667111638", password.ErrMatchesIdentifier},
		{"phone number without plus", "4917667111638", password.ErrMatchesIdentifier},
		{"service name", "acme portal", password.ErrMatchesIdentifier},
		{"fullwidth username (NFKC)", "ＢｏｂＴｈｅＢｕｉｌｄｅｒ", password.ErrMatchesIdentifier},
		// C-8: whole-string match only.
		{"contains a listed word", "password-vault-orchid-7", nil},
		{"contains the username", "bobthebuilder-rocks-42", nil},
		// Length in code points after NFKC.
		{"7 code points", "xq7#kLm", password.ErrTooShort},
		{"8 code points", "xq7#kLm2", nil},
		{"7 emoji", strings.Repeat("🔒", 7), password.ErrTooShort},
		{"8 emoji (32 bytes)", strings.Repeat("🔒", 8), nil},
		{"7 accented letters (14 bytes)", strings.Repeat("é", 7), password.ErrTooShort},
		{"4 ligatures are 8 code points after NFKC", "ﬁﬂﬁﬂ", nil},
		{"256 bytes", strings.Repeat("k", 256), nil},
		{"257 bytes", strings.Repeat("k", 257), password.ErrTooLong},
		{"64 emoji (256 bytes)", strings.Repeat("🔒", 64), nil},
		{"65 emoji (260 bytes)", strings.Repeat("🔒", 65), password.ErrTooLong},
		{"1 MB", strings.Repeat("k", 1<<20), password.ErrTooLong},
		// Invalid input.
		{"empty", "", password.ErrInvalid},
		{"invalid UTF-8", "abc\xffdefghij", password.ErrInvalid},
		{"NUL", "abcd\x00efghij", password.ErrInvalid},
		{"only spaces, long enough", "          ", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(context.Background(), tc.pw, ids)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			for _, other := range []error{password.ErrTooShort, password.ErrTooLong, password.ErrMatchesIdentifier,
				password.ErrPwned, password.ErrBreachUnavailable, password.ErrInvalid} {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("Check = %v also matches %v", err, other)
				}
			}
		})
	}
}

// C-1 with a configured minimum of 15: 14 code points rejected, 15 accepted.
func TestPolicyMinLength15(t *testing.T) {
	p := password.Policy{MinLength: 15}
	if err := p.Check(context.Background(), "vq9!zr4#mt2@kp7", nil); err != nil {
		t.Fatalf("15 code points: %v", err)
	}
	if err := p.Check(context.Background(), "vq9!zr4#mt2@kp", nil); !errors.Is(err, password.ErrTooShort) {
		t.Fatalf("14 code points: %v, want ErrTooShort", err)
	}
	if err := p.Check(context.Background(), strings.Repeat("パ", 15), nil); err != nil {
		t.Fatalf("15 katakana: %v", err)
	}
}

func TestPolicyMaxBytes(t *testing.T) {
	p := password.Policy{MaxBytes: 64}
	if err := p.Check(context.Background(), strings.Repeat("m", 64), nil); err != nil {
		t.Fatalf("64 bytes: %v", err)
	}
	if err := p.Check(context.Background(), strings.Repeat("m", 65), nil); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("65 bytes: %v, want ErrTooLong", err)
	}
	// MaxBytes above the hasher's cap is clamped to it.
	big := password.Policy{MaxBytes: 10000}
	if err := big.Check(context.Background(), strings.Repeat("m", password.MaxPasswordBytes+1), nil); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("257 bytes with MaxBytes 10000: %v, want ErrTooLong", err)
	}
}

// A failing breach checker refuses the password (never accepts silently) and
// its error stays inspectable.
func TestPolicyBreachUnavailable(t *testing.T) {
	cause := errors.New("hibp: connection refused")
	c := &recordingChecker{err: cause}
	err := password.Policy{Breach: c}.Check(context.Background(), "a perfectly fine passphrase", nil)
	if !errors.Is(err, password.ErrBreachUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("Check = %v, want ErrBreachUnavailable wrapping the cause", err)
	}
	if errors.Is(err, password.ErrPwned) {
		t.Fatal("an unavailable checker reported ErrPwned")
	}
}

// The checker is asked the NFKC form and, when different, the raw form; it is
// not asked at all when a local rule already fails.
func TestPolicyBreachForms(t *testing.T) {
	c := &recordingChecker{breached: map[string]bool{"ﬁnally-ﬁxed": true}}
	p := password.Policy{Breach: c}
	err := p.Check(context.Background(), "ﬁnally-ﬁxed", nil)
	if !errors.Is(err, password.ErrPwned) {
		t.Fatalf("Check = %v, want ErrPwned (raw form is breached)", err)
	}
	if want := []string{"finally-fixed", "ﬁnally-ﬁxed"}; fmt.Sprint(c.asked) != fmt.Sprint(want) {
		t.Fatalf("checker asked %q, want %q", c.asked, want)
	}
	c.asked = nil
	if err := p.Check(context.Background(), "short", nil); !errors.Is(err, password.ErrTooShort) {
		t.Fatalf("Check(short) = %v", err)
	}
	if err := p.Check(context.Background(), "someone@example.org", []string{"someone@example.org"}); !errors.Is(err, password.ErrMatchesIdentifier) {
		t.Fatalf("Check(identifier) = %v", err)
	}
	if len(c.asked) != 0 {
		t.Fatalf("checker asked %q although local rules failed", c.asked)
	}
}

// C-7 with HIBP: a password the (fake) Pwned Passwords API lists is refused.
func TestPolicyWithHIBP(t *testing.T) {
	const pw = "Tr0ub4dor&3 is famous"
	sum := sha1.Sum([]byte(pw))
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n")
		if prefix == full[:5] {
			fmt.Fprintf(w, "%s:42\r\n", full[5:])
		}
	}))
	defer srv.Close()
	p := password.Policy{Breach: breach.Any(breach.Common(), breach.HIBP(srv.URL, breach.WithHTTPClient(srv.Client())))}
	if err := p.Check(context.Background(), pw, nil); !errors.Is(err, password.ErrPwned) {
		t.Fatalf("Check(listed) = %v, want ErrPwned", err)
	}
	if err := p.Check(context.Background(), "password-vault-orchid-7", nil); err != nil {
		t.Fatalf("Check(unlisted) = %v, want nil", err)
	}
	srv.Close()
	if err := p.Check(context.Background(), "another passphrase entirely", nil); !errors.Is(err, password.ErrBreachUnavailable) {
		t.Fatalf("Check with HIBP down = %v, want ErrBreachUnavailable", err)
	}
}

func TestPolicyRefusesWeakPasswords(t *testing.T) {
	p := password.Policy{MinStrength: 2}
	for _, pw := range []string{"password123456", "qwertyuiop1", "aaaaaaaaaaaa"} {
		err := p.Check(context.Background(), pw, nil)
		var weak *password.WeakError
		if !errors.Is(err, password.ErrTooWeak) || !errors.As(err, &weak) || weak.Score >= 2 {
			t.Errorf("Check(%q) = %v, want password.ErrTooWeak", pw, err)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "quartz-Lantern-91-meadow"} {
		if err := p.Check(context.Background(), pw, nil); err != nil {
			t.Errorf("Check(%q) = %v", pw, err)
		}
	}
	// The account's own identifiers count as guessable words.
	if err := p.Check(context.Background(), "alicesmith2", []string{"alicesmith@example.com", "alicesmith"}); !errors.Is(err, password.ErrTooWeak) {
		t.Errorf("identifier-based password: %v", err)
	}
	if err := (password.Policy{}).Check(context.Background(), "password123456", nil); err != nil {
		t.Errorf("MinStrength 0 turns the estimate off: %v", err)
	}
}
