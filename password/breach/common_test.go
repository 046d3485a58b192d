package breach

import (
	"bufio"
	"context"
	"strings"
	"testing"
)

func TestCommonWholeStringCaseInsensitive(t *testing.T) {
	c := Common()
	if n := c.Len(); n < 1000 {
		t.Fatalf("common list has %d entries, want at least 1000", n)
	}
	listed := []string{"123456", "password", "PASSWORD", "Password", "qwerty", "iloveyou", "ILoveYou",
		"12345678", "abc123", "letmein", "monkey", "dragon", "111111", "qwertyuiop", "p@ssw0rd", "trustno1"}
	for _, pw := range listed {
		if ok, err := c.Breached(context.Background(), pw); err != nil || !ok {
			t.Errorf("Breached(%q) = %v, %v; want true, nil", pw, ok, err)
		}
	}
	// C-8: only whole-string matches.
	unlisted := []string{"password-vault-orchid-7", "correct horse battery staple", "xpassword", "password ",
		"123456x", "my iloveyou note", "", "qwerty-orchid-canyon"}
	for _, pw := range unlisted {
		if ok, err := c.Breached(context.Background(), pw); err != nil || ok {
			t.Errorf("Breached(%q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

// The embedded file is well-formed: lowercase, trimmed, no duplicates.
func TestCommonFileFormat(t *testing.T) {
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(commonTxt))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if strings.HasPrefix(s, "#") {
			continue
		}
		if s == "" || s != strings.TrimSpace(s) || s != strings.ToLower(s) || strings.ContainsRune(s, '\r') {
			t.Errorf("line %d %q is blank, untrimmed or not lowercase", line, s)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("line %d %q duplicates line %d", line, s, prev)
		}
		seen[s] = line
	}
	if len(seen) != Common().Len() {
		t.Fatalf("file has %d entries, checker has %d", len(seen), Common().Len())
	}
}
