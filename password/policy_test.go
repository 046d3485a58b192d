package password_test

import (
	"context"
	"errors"
	"fmt"
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
	check := func(t *testing.T, pw string, want error) {
		t.Helper()
		err := p.Check(context.Background(), pw, ids)
		if want == nil {
			if err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("Check = %v, want %v", err, want)
		}
		for _, other := range []error{password.ErrTooShort, password.ErrTooLong, password.ErrMatchesIdentifier,
			password.ErrPwned, password.ErrBreachUnavailable, password.ErrInvalid} {
			if other != want && errors.Is(err, other) {
				t.Fatalf("Check = %v also matches %v", err, other)
			}
		}
	}
	// Passwords by the outcome they must get (nil: accepted), each its own
	// subtest.
	byOutcome := map[error][]string{
		// C-6: no composition rules (a passphrase without digits or
		// symbols, only lowercase). C-8: whole-string match only (a listed
		// word, the username inside a longer password). Spaces count.
		nil: {"correct horse battery staple", "zebracornflakes", "password-vault-orchid-7", "bobthebuilder-rocks-42", "          "},
		// C-7: the common list, whole string in any case.
		password.ErrPwned: {"password", "PassWord", "iloveyou", "Qwerty123"},
		// C-7: an identifier in any case and width (NFKC), an email's local
		// part with and without its tag, a phone number without its plus.
		password.ErrMatchesIdentifier: {
			"alice.wonderland+news@example.com", "ALICE.Wonderland+News@Example.com",
			"alice.wonderland+news", "Alice.Wonderland",
			"BobTheBuilder", "ＢｏｂＴｈｅＢｕｉｌｄｅｒ",
			"+4917667111638", "4917667111638", "acme portal",
		},
		// Empty, invalid UTF-8, NUL.
		password.ErrInvalid: {"", "abc\xffdefghij", "abcd\x00efghij"},
	}
	for want, pws := range byOutcome {
		for _, pw := range pws {
			t.Run(fmt.Sprintf("%v/%.40q", want, pw), func(t *testing.T) { check(t, pw, want) })
		}
	}
	// Length in code points after NFKC.
	for _, tc := range []struct {
		name string
		pw   string
		want error
	}{
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
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.pw, tc.want) })
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
