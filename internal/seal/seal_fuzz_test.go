package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary stored values to Open (a store dump or a
// Redis that someone else can write is not trusted). Open never panics
// and never changes its input; a value not in the sealed format comes
// back as it is, not current; a sealed one is refused with exactly
// ErrCorrupt or ErrKeyMismatch (the latter only for a key id the keyring
// does not hold), or opens to the plaintext of one of the values sealed
// here for that store key (GCM cannot be forged by mutation), current
// only under the first key, and never under another store key name.
func FuzzOpen(f *testing.F) {
	k1, k2, k3 := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize), bytes.Repeat([]byte{3}, KeySize)
	r, err := NewKeyring(k1, k2)
	if err != nil {
		f.Fatal(err)
	}
	const name = "secrets:a"
	plains := map[string]bool{}
	for i, k := range [][]byte{k1, k2, k3} {
		single, err := NewKeyring(k)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range []string{"", "hello", strings.Repeat("x", 100)} {
			box, err := single.Seal(name, []byte(p))
			if err != nil {
				f.Fatal(err)
			}
			if i < 2 {
				plains[p] = true
			}
			f.Add(name, box)
			f.Add("secrets:b", box)
			f.Add(name, box[:len(box)-1])
			f.Add(name, append(bytes.Clone(box), 'A'))
		}
	}
	for _, s := range []string{"", "legacy", "agseal1", "agseal1.", "agseal1.zz.", "agseal1.0011223344.AAAA",
		"agseal1.00112233.!!", "agseal1.00112233.", "agseal1.ZZZZZZZZ.AAAA", "agseal1..", "agseal1.00112233.AAAA=="} {
		f.Add(name, []byte(s))
	}
	ids := map[string]bool{}
	for _, k := range r.keys {
		ids[hex.EncodeToString(k.id[:])] = true
	}
	current := hex.EncodeToString(r.keys[0].id[:])
	f.Fuzz(func(t *testing.T, storeKey string, data []byte) {
		in := bytes.Clone(data)
		plain, cur, err := r.Open(storeKey, data)
		if !bytes.Equal(in, data) {
			t.Fatalf("Open modified its input")
		}
		if !IsSealed(data) {
			if err != nil || cur || !bytes.Equal(plain, data) {
				t.Fatalf("unsealed value %q: Open = %q, %v, %v; want it back as it is", data, plain, cur, err)
			}
			return
		}
		id, _, _ := strings.Cut(string(data[len(prefix):]), ".")
		if err != nil {
			switch {
			case plain != nil || cur:
				t.Fatalf("Open(%q) = %q, %v with error %v", data, plain, cur, err)
			case errors.Is(err, ErrKeyMismatch) && ids[strings.ToLower(id)]:
				t.Fatalf("Open(%q): ErrKeyMismatch for a key id the keyring holds", data)
			case err != ErrCorrupt && err != ErrKeyMismatch:
				t.Fatalf("Open(%q): error %v, want ErrCorrupt or ErrKeyMismatch", data, err)
			}
			return
		}
		if storeKey != name || !plains[string(plain)] {
			t.Fatalf("Open(%q, %q) = %q: a value opened that was not sealed here for that store key", storeKey, data, plain)
		}
		if cur != (strings.ToLower(id) == current) {
			t.Fatalf("Open(%q): current = %v under key id %s", data, cur, id)
		}
		if _, _, err := r.Open(storeKey+"x", data); err == nil {
			t.Fatalf("Open(%q) opened under another store key", data)
		}
	})
}

// FuzzParseKey: ParseKey never panics, accepts only what decodes to
// KeySize bytes (surrounding white space aside) in one of the four base64
// alphabets, and its errors never quote the value.
func FuzzParseKey(f *testing.F) {
	k := bytes.Repeat([]byte{0xfb}, KeySize)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		f.Add(enc.EncodeToString(k))
		f.Add(" " + enc.EncodeToString(k) + "\n")
		f.Add(enc.EncodeToString(k[:31]))
		f.Add(enc.EncodeToString(append(bytes.Clone(k), 0)))
	}
	for _, s := range []string{"", "c2hvcnQ", "not base64 at all!", "{env.KEY}", "+/+/", "-_-_", "====", "AAAA\nAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseKey(s)
		if err != nil {
			if key != nil {
				t.Fatalf("ParseKey(%q) returned a key with error %v", s, err)
			}
			if v := strings.TrimSpace(s); len(v) >= 6 && strings.Contains(err.Error(), v) && !inFixedText(v) {
				t.Fatalf("ParseKey(%q): error %q quotes the value", s, err)
			}
			return
		}
		if len(key) != KeySize {
			t.Fatalf("ParseKey(%q) = %d bytes", s, len(key))
		}
		v := strings.TrimSpace(s)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(v); err == nil && bytes.Equal(b, key) {
				return
			}
		}
		t.Fatalf("ParseKey(%q) = %x, which no base64 alphabet decodes it to", s, key)
	})
}

// inFixedText reports whether v is in the message ParseKey gives for
// stand-in values (one not base64, one of the wrong length), so that
// finding it says nothing about quoting.
func inFixedText(v string) bool {
	for _, standIn := range []string{"!Zq9xW2!", "Zq9xW2"} {
		if _, err := ParseKey(standIn); err != nil && strings.Contains(err.Error(), v) {
			return true
		}
	}
	return false
}
