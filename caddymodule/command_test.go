package caddymodule

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/password/breach"
)

func TestBreachBuildCommand(t *testing.T) {
	dir := t.TempDir()
	var list strings.Builder
	leaked := []string{"hunter2-but-longer", "correct horse battery staple", "Tr0ub4dor&3"}
	for i, pw := range leaked {
		sum := sha1.Sum([]byte(pw))
		fmt.Fprintf(&list, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(sum[:])), i+1)
	}
	list.WriteString("not a hash line\r\n")
	in := filepath.Join(dir, "pwned.txt")
	if err := os.WriteFile(in, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "breach.idx")
	cmd := breachCommand()
	var stdout bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"build", in, out})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "indexed 3 hashes") {
		t.Fatalf("output %q", stdout.String())
	}
	idx, err := breach.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, pw := range leaked {
		if ok, err := idx.Breached(context.Background(), pw); err != nil || !ok {
			t.Errorf("%q not found in the index (%v)", pw, err)
		}
	}
	if ok, _ := idx.Breached(context.Background(), "a-passphrase-nobody-leaked-42"); ok {
		t.Error("an unlisted password was found (possible but 1 in 65536)")
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Error("temporary file left behind")
	}
}

// TestCommandUsageListsEverySubcommand keeps the usage line in step with
// the subcommands.
func TestCommandUsageListsEverySubcommand(t *testing.T) {
	for _, group := range []*cobra.Command{usersCommand(), keysCommand(), breachCommand()} {
		i := strings.Index(commandUsage, group.Name()+" ")
		if i < 0 {
			t.Errorf("usage %q does not list %s", commandUsage, group.Name())
			continue
		}
		line, _, _ := strings.Cut(commandUsage[i+len(group.Name())+1:], " ")
		for _, sub := range group.Commands() {
			if !slices.Contains(strings.Split(line, "|"), sub.Name()) {
				t.Errorf("usage %q does not list %s %s", commandUsage, group.Name(), sub.Name())
			}
		}
	}
}
