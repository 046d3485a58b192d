package users

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/authgate/authgate/internal/ids"
)

// Key layout (layout 2). Every key carries a hash tag of its own record
// or identifier, so on Redis Cluster the user base spreads over every
// slot instead of living in one:
//
//	{u:<user id>}:user      the user record (JSON), or a deletion tombstone
//	{i:<hmac>}              the index of one identifier: an owner value
//
// <hmac> is hex of the first 16 bytes of HMAC-SHA256(identifier key,
// kind NUL normalized identifier). Keying the index by a keyed hash keeps
// email addresses and phone numbers out of key names (a SCAN or a slot
// dump reveals none), and no guess of an address tells which node holds
// it. The identifier key must therefore never change: every index would
// be lost with it.
//
// Layout 1 (before), all in one slot: "{users}:user:<id>" and
// "{users}:<kind>:<normalized>" holding the user id; see legacy.go.
func recordKey(id string) string { return "{u:" + id + "}:user" }

// recordPrefix and recordSuffix bracket every record key (for List).
const (
	recordPrefix = "{u:"
	recordSuffix = "}:user"
	indexPrefix  = "{i:"
)

// KeyName is the store key of the default identifier key (see WithKey).
const KeyName = "secrets:identifier_hmac"

// Key gives the secret the identifier indexes are keyed with. It must
// return the same bytes on every instance and forever; internal/secret's
// Key (created once in the store, then cached) does.
type Key interface {
	Get(ctx context.Context) ([]byte, error)
}

// ident is one identifier of a user as the index protocol sees it: its
// kind, normalized value, the token of its claim (Identification.ID for
// emails and phones, User.UsernameID for the username) and its index key.
type ident struct {
	kind  Kind
	value string
	token string
	key   string
}

// indexKey returns the index key of one identifier.
func (s *Service) indexKey(ctx context.Context, k Kind, normalized string) (string, error) {
	secret, err := s.hmacKey(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(k))
	mac.Write([]byte{0})
	mac.Write([]byte(normalized))
	return indexPrefix + hex.EncodeToString(mac.Sum(nil)[:16]) + "}", nil
}

// hmacKey returns the identifier key, cached after the first success so
// the sign-in path does not take the Key's lock on every lookup.
func (s *Service) hmacKey(ctx context.Context) ([]byte, error) {
	if k := s.keyCache.Load(); k != nil {
		return *k, nil
	}
	k, err := s.key.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the identifier key: %w", err)
	}
	if len(k) < 16 {
		return nil, errors.New("the identifier key is shorter than 16 bytes")
	}
	s.keyCache.Store(&k)
	return k, nil
}

// keyed fills in the index keys of ids.
func (s *Service) keyed(ctx context.Context, list []ident) ([]ident, error) {
	for i := range list {
		k, err := s.indexKey(ctx, list[i].kind, list[i].value)
		if err != nil {
			return nil, err
		}
		list[i].key = k
	}
	return list, nil
}

// idents lists the user's identifiers with their claim tokens.
func (u *User) idents() []ident {
	out := make([]ident, 0, len(u.Emails)+len(u.Phones)+1)
	for _, e := range u.Emails {
		out = append(out, ident{kind: KindEmail, value: e.Value, token: e.ID})
	}
	for _, p := range u.Phones {
		out = append(out, ident{kind: KindPhone, value: p.Value, token: p.ID})
	}
	if u.Username != "" {
		out = append(out, ident{kind: KindUsername, value: u.Username, token: u.UsernameID})
	}
	return out
}

// holds reports whether the record lists the identifier under the same
// claim token, i.e. the index entry for it is this record's and current.
func (u *User) holds(id ident) bool { return identIn(u.idents(), id) }

// identIn reports whether list has id (kind, value and token; not key).
func identIn(list []ident, id ident) bool {
	for _, x := range list {
		if x.kind == id.kind && x.value == id.value && x.token == id.token {
			return true
		}
	}
	return false
}

// lists reports whether the record lists the identifier, whatever its
// token (layout 1 indexes carry none).
func (u *User) lists(k Kind, value string) bool {
	for _, have := range u.idents() {
		if have.kind == k && have.value == value {
			return true
		}
	}
	return false
}

// sameIdents reports whether a and b list the same identifiers with the
// same tokens, in the same order (the first email and phone are primary).
func sameIdents(a, b []ident) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || a[i].value != b[i].value || a[i].token != b[i].token {
			return false
		}
	}
	return true
}

// owner is the value of an index key: who claimed the identifier, with
// which token, and whether the claim is still pending (it has a TTL and
// its record may not exist yet) or held (permanent, its record written).
// Stored as "claim <user id> <token>" or "held <user id> <token>".
type owner struct {
	held  bool
	user  string
	token string
}

func (o owner) value() []byte {
	state := "claim"
	if o.held {
		state = "held"
	}
	return []byte(state + " " + o.user + " " + o.token)
}

// pendingOf and heldOf are the two values a claim of id by user can have.
func pendingOf(user string, id ident) []byte { return owner{user: user, token: id.token}.value() }
func heldOf(user string, id ident) []byte {
	return owner{held: true, user: user, token: id.token}.value()
}

// errMalformedIndex is returned for an index value no version wrote.
var errMalformedIndex = errors.New("malformed identifier index value")

func parseOwner(b []byte) (owner, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 || (f[0] != "claim" && f[0] != "held") || !ids.Valid("user", f[1]) || f[2] == "" {
		return owner{}, fmt.Errorf("%w %q", errMalformedIndex, b)
	}
	return owner{held: f[0] == "held", user: f[1], token: f[2]}, nil
}

// tombstone replaces a deleted user's record while layout 1 data may
// still exist, so that a migration that read the old record before the
// delete cannot bring the user back (see Delete).
var tombstone = []byte("deleted")

func isTombstone(b []byte) bool { return bytes.Equal(b, tombstone) }
