package breach

import (
	"bufio"
	"context"
	_ "embed"
	"strings"
	"sync"
)

//go:embed common.txt
var commonTxt string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// CommonList is the embedded common-password list. The zero value is ready
// to use; Common returns one.
type CommonList struct{}

// Common returns a Checker backed by an embedded list of several thousand of
// the most common passwords. A password matches only if it equals a listed
// entry as a whole, ignoring case: "password" matches, "password-vault-orchid-7"
// does not. It never fails.
func Common() CommonList { return CommonList{} }

// Breached reports whether pw, lowercased, is on the list.
func (CommonList) Breached(_ context.Context, pw string) (bool, error) {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok, nil
}

// Len returns the number of entries in the list.
func (CommonList) Len() int { return len(commonPasswords()) }

func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		commonSet = make(map[string]struct{}, 10000)
		sc := bufio.NewScanner(strings.NewReader(commonTxt))
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			commonSet[strings.ToLower(line)] = struct{}{}
		}
	})
	return commonSet
}
