package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/password/breach"
)

// commandUsage lists every subcommand of `caddy authgate`.
const commandUsage = "users add|list|compromise|uncompromise|require-reset|disable-mfa|import | keys rotate|rewrap | store migrate|repair | breach build"

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "authgate",
		Usage: commandUsage,
		Short: "Manages authgate users, signing keys and breach indexes",
		Long: `
Manages authgate through the admin API of a running Caddy (users, keys)
or works on files (breach build).

  caddy authgate users add --email alice@example.com [--phone +15555550100] [--username alice] --password-stdin
  caddy authgate users list --email alice@example.com
  caddy authgate users compromise <user id or identifier> [--revoke-sessions]
  caddy authgate users uncompromise <user id or identifier>
  caddy authgate users require-reset <user id or identifier>
  caddy authgate users disable-mfa <user id or identifier>
  caddy authgate users import <users.jsonl>
  caddy authgate keys rotate
  caddy authgate keys rewrap
  caddy authgate store migrate
  caddy authgate store repair
  caddy authgate breach build <pwned-passwords.txt> <index file>

--address sets the admin endpoint (default: localhost:2019).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.PersistentFlags().String("address", "localhost:2019", "the admin API address")
			cmd.AddCommand(usersCommand(), breachCommand(), keysCommand(), storeCommand())
		},
	})
}

func usersCommand() *cobra.Command {
	add := &cobra.Command{
		Use:   "add --email ADDR [--phone NUMBER] [--username NAME] --password-stdin",
		Short: "Create a user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			emails, _ := cmd.Flags().GetStringArray("email")
			phones, _ := cmd.Flags().GetStringArray("phone")
			username, _ := cmd.Flags().GetString("username")
			fromStdin, _ := cmd.Flags().GetBool("password-stdin")
			body := map[string]any{"email_address": emails, "phone_number": phones}
			if username != "" {
				body["username"] = username
			}
			if fromStdin {
				pw, err := readPassword(cmd.InOrStdin())
				if err != nil {
					return err
				}
				body["password"] = pw
			}
			return adminCall(cmd, http.MethodPost, "/users", body)
		},
	}
	add.Flags().StringArray("email", nil, "email address (repeatable)")
	add.Flags().StringArray("phone", nil, "phone number in E.164 form (repeatable)")
	add.Flags().String("username", "", "username")
	add.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")

	list := &cobra.Command{
		Use:   "list [--email ADDR] [--phone NUMBER] [--username NAME]",
		Short: "Find users by identifier",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for flag, param := range map[string]string{"email": "email_address", "phone": "phone_number", "username": "username"} {
				if v, _ := cmd.Flags().GetString(flag); v != "" {
					q.Set(param, v)
				}
			}
			if len(q) == 0 {
				return errors.New("give --email, --phone or --username")
			}
			return adminCall(cmd, http.MethodGet, "/users?"+q.Encode(), nil)
		},
	}
	list.Flags().String("email", "", "email address")
	list.Flags().String("phone", "", "phone number")
	list.Flags().String("username", "", "username")

	compromise := userAction("compromise <user id or identifier> [--revoke-sessions]",
		"Mark a user's password compromised", "/password/set_compromised",
		func(cmd *cobra.Command) any {
			revoke, _ := cmd.Flags().GetBool("revoke-sessions")
			return map[string]any{"revoke_all_sessions": revoke}
		})
	compromise.Flags().Bool("revoke-sessions", false, "also revoke all of the user's sessions")
	uncompromise := userAction("uncompromise <user id or identifier>",
		"Clear the compromised mark of a user's password", "/password/unset_compromised", nil)
	requireReset := userAction("require-reset <user id or identifier>",
		"Make the user set a new password at the next sign-in", "/password/require_reset", nil)
	disableMFA := &cobra.Command{
		Use:   "disable-mfa <user id or identifier>",
		Short: "Remove every second factor of a user who lost them (authenticator app, backup codes, phones)",
		Args:  cobra.ExactArgs(1),
		RunE:  userActionRun(http.MethodDelete, "/mfa", nil),
	}
	importCmd := &cobra.Command{
		Use:   "import <users.jsonl>",
		Short: "Create users from a file of JSON lines (the admin API's create body, e.g. with password_digest)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importUsers(cmd, args[0])
		},
	}
	return commandGroup("users", "Manage users through the admin API",
		add, list, compromise, uncompromise, requireReset, disableMFA, importCmd)
}

// commandGroup is a command that only groups its subcommands.
func commandGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	group := &cobra.Command{Use: use, Short: short}
	group.AddCommand(subs...)
	return group
}

// userAction is a command on one user, given by id or identifier, that
// posts body (nil: none) to /users/<id><path> of the admin API.
func userAction(use, short, path string, body func(*cobra.Command) any) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE:  userActionRun(http.MethodPost, path, body),
	}
}

// userActionRun sends method to /users/<id><path> with body (nil: none)
// for the user the command's argument names.
func userActionRun(method, path string, body func(*cobra.Command) any) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := resolveUser(cmd, args[0])
		if err != nil {
			return err
		}
		var b any
		if body != nil {
			b = body(cmd)
		}
		return adminCall(cmd, method, "/users/"+id+path, b)
	}
}

func keysCommand() *cobra.Command {
	return commandGroup("keys", "Session signing keys",
		adminPost("rotate", "Add a new signing key (published now, signing after the publish delay)", "/jwks/rotate"),
		adminPost("rewrap", "Re-seal every stored secret with the first encryption_key (after a key rotation)", "/keys/rewrap"))
}

// adminPost is a command without arguments that posts an empty body to
// path of the admin API.
func adminPost(use, short, path string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminCall(cmd, http.MethodPost, path, nil)
		},
	}
}

func breachCommand() *cobra.Command {
	build := &cobra.Command{
		Use:   "build <hibp-format text file> <index file>",
		Short: "Build an index from a Pwned Passwords SHA1:COUNT list",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("opening hash list: %w", err)
			}
			defer in.Close()
			tmp := args[1] + ".tmp"
			out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return fmt.Errorf("creating index: %w", err)
			}
			w := bufio.NewWriterSize(out, 1<<20)
			n, err := breach.Build(bufio.NewReaderSize(in, 1<<20), w)
			if err == nil {
				err = w.Flush()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(tmp)
				return fmt.Errorf("building index: %w", err)
			}
			if err := os.Rename(tmp, args[1]); err != nil {
				return fmt.Errorf("installing index: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d hashes into %s\n", n, args[1])
			return nil
		},
	}
	return commandGroup("breach", "Offline breached-password indexes", build)
}

// importUsers creates one user per JSON line of path through the admin
// API. It goes on after a failed line and fails at the end if any did.
func importUsers(cmd *cobra.Command, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening import file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	var created, failed int
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(text), &body); err != nil {
			failed++
			fmt.Fprintf(cmd.ErrOrStderr(), "line %d: not a JSON object: %v\n", line, err)
			continue
		}
		if _, err := adminDo(cmd, http.MethodPost, "/users", body); err != nil {
			failed++
			fmt.Fprintf(cmd.ErrOrStderr(), "line %d: %v\n", line, err)
			continue
		}
		created++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading import file: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d users, %d failed\n", created, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d users were not imported", failed, created+failed)
	}
	return nil
}

// readPassword reads the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// resolveUser turns an identifier into a user id through the admin API.
func resolveUser(cmd *cobra.Command, arg string) (string, error) {
	if ids.Valid("user", arg) {
		return arg, nil
	}
	param := "username"
	switch {
	case strings.Contains(arg, "@"):
		param = "email_address"
	case strings.HasPrefix(arg, "+"):
		param = "phone_number"
	}
	body, err := adminDo(cmd, http.MethodGet, "/users?"+url.Values{param: {arg}}.Encode(), nil)
	if err != nil {
		return "", err
	}
	var found []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &found); err != nil {
		return "", fmt.Errorf("decoding admin API answer: %w", err)
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no user with %s %s", param, arg)
	}
	return found[0].ID, nil
}

// adminCall does an admin API call and prints the JSON answer.
func adminCall(cmd *cobra.Command, method, path string, body any) error {
	out, err := adminDo(cmd, method, path, body)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(string(out)))
	return err
}

func adminDo(cmd *cobra.Command, method, path string, body any) ([]byte, error) {
	addr, _ := cmd.Flags().GetString("address")
	var rd io.Reader
	hdr := http.Header{}
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
		hdr.Set("Content-Type", "application/json")
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, "/authgate/v1"+path, hdr, rd)
	if err != nil {
		// AdminAPIRequest already reports non-2xx answers with their body.
		return nil, fmt.Errorf("calling the admin API at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 10<<20))
}
