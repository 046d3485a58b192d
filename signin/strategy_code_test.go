package signin

import (
	"math"
	"testing"

	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/users"
)

// TestCodesAreUniform draws a million codes and checks each digit
// position with a chi-square test bounded at 60 (9 degrees of freedom,
// p about 1e-9 per digit): a uniform source fails about once in 10^8
// runs, while the smallest bias worth fearing, a random byte taken mod
// 10 (digits 0-5 at 26/256), scores about 365.
func TestCodesAreUniform(t *testing.T) {
	const n = 1_000_000
	var counts [CodeLength][10]int
	for range n {
		c, err := codes.New()
		if err != nil {
			t.Fatal(err)
		}
		if !codes.WellFormed(c) {
			t.Fatalf("malformed code %q", c)
		}
		for i := range CodeLength {
			counts[i][c[i]-'0']++
		}
	}
	for pos, row := range counts {
		chi := 0.0
		for _, got := range row {
			d := float64(got) - n/10.0
			chi += d * d / (n / 10.0)
		}
		if chi > 60 || math.IsNaN(chi) {
			t.Errorf("digit %d is not uniform: chi-square %.1f, counts %v", pos, chi, row)
		}
	}
}

func TestWellFormedCode(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"000000", true}, {"123456", true}, {"12345", false}, {"1234567", false}, {"123 456", false},
		{"123-456", false}, {"１２３４５６", false}, {"٠١٢٣٤٥", false}, {"+12345", false}, {"-12345", false},
		{"1e5000", false}, {"123456\n", false}, {"", false},
	} {
		if got := codes.WellFormed(tc.in); got != tc.ok {
			t.Errorf("codes.WellFormed(%q) = %v", tc.in, got)
		}
	}
}

func TestCodeMACBindsAttemptUserAndStrategy(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	mac := func(attemptID, userID, strategy, code string) string {
		a := &Attempt{ID: attemptID, UserID: userID}
		return string(codes.MAC(key, append(codeBinding(a, lookup(strategy)), code)...))
	}
	base := mac("sia_1", "user_1", StrategyResetPasswordEmail, "123456")
	for _, other := range [][]string{
		{"sia_2", "user_1", StrategyResetPasswordEmail, "123456"},
		{"sia_1", "user_2", StrategyResetPasswordEmail, "123456"},
		{"sia_1", "user_1", StrategyEmailCode, "123456"},
		{"sia_1", "user_1", StrategyResetPasswordEmail, "123457"},
	} {
		if mac(other[0], other[1], other[2], other[3]) == base {
			t.Errorf("MAC does not depend on %v", other)
		}
	}
	// A reverification code of the same session, user and strategy is
	// bound apart from a sign-in code.
	if string(codes.MAC(key, append(reverifyBinding("sia_1", "user_1", StrategyEmailCode), "123456")...)) == mac("sia_1", "user_1", StrategyEmailCode, "123456") {
		t.Error("a reverification code MACs like a sign-in code")
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		kind users.Kind
		in   string
		want string
	}{
		{users.KindEmail, "nathan@clerk.com", "n*****@clerk.com"},
		{users.KindEmail, "a@b.co", "a*****@b.co"},
		{users.KindPhone, "+15555550100", "+15*******00"},
		{users.KindPhone, "+301234567890", "+30********90"},
	} {
		if got := Mask(tc.kind, tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
