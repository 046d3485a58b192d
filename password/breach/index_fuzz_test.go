package breach

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzIndexKeys are the first 64 bits of the hashes fuzzIndexSeed holds.
var fuzzIndexKeys = []uint64{
	0x5baa61e4c9b93f3f, 0x7c4a8d09ca3762af, 0xb1b3773a05c0ed01, 0x0000000000000000,
	0xffffffffffffffff, 0x8000000000000000, 0x0123456789abcdef,
}

// fuzzIndexSeed builds a small valid index of fuzzIndexKeys.
func fuzzIndexSeed(f *testing.F) []byte {
	f.Helper()
	var in strings.Builder
	for i, k := range fuzzIndexKeys {
		fmt.Fprintf(&in, "%016X%024X:%d\r\n", k, i, i+1)
	}
	var out bytes.Buffer
	if _, err := Build(strings.NewReader(in.String()), &out); err != nil {
		f.Fatal(err)
	}
	return out.Bytes()
}

// fixChecksums sets both CRCs of an index file to match its bytes, so
// that the fuzzer's mutations of the header fields and fingerprints reach
// the checks behind the checksums.
func fixChecksums(data []byte) {
	if len(data) < indexHeaderSize {
		return
	}
	binary.LittleEndian.PutUint32(data[56:], crc32.Checksum(data[indexHeaderSize:], castagnoli))
	binary.LittleEndian.PutUint32(data[60:], crc32.Checksum(data[:60], castagnoli))
}

// sumOf returns a SHA-1-sized digest whose index key is k.
func sumOf(k uint64) [20]byte {
	var s [20]byte
	binary.BigEndian.PutUint64(s[:], k)
	return s
}

// FuzzOpenIndex opens arbitrary index files (with their checksums left
// as they are, or fixed up so that the header's fields are what is
// tested). Open never panics; it refuses with an error wrapping
// ErrBadIndex and no index, or returns an index that is usable: its size
// is what its header says, Len is between 1 and the fingerprint count,
// lookups of any digest answer (deterministically) without panicking,
// the untouched seed file finds every hash it was built from, and after
// Close lookups report closed.
func FuzzOpenIndex(f *testing.F) {
	good := fuzzIndexSeed(f)
	f.Add(good, false, uint64(0))
	f.Add(good, true, uint64(1))
	f.Add(bytes.Clone(good[:indexHeaderSize]), true, uint64(2))
	f.Add(bytes.Clone(good[:len(good)-2]), true, uint64(3))
	f.Add(append(bytes.Clone(good), 0, 0), true, uint64(4))
	f.Add([]byte{}, false, uint64(5))
	f.Add([]byte(indexMagic), false, uint64(6))
	for _, mutate := range []func(h []byte){
		func(h []byte) { binary.LittleEndian.PutUint32(h[8:], 2) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[12:], 8) },
		func(h []byte) { binary.LittleEndian.PutUint64(h[16:], 0) },
		func(h []byte) { binary.LittleEndian.PutUint64(h[16:], 1<<40) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[32:], 3) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[32:], 1<<19) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[36:], 0xffff) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[40:], binary.LittleEndian.Uint32(h[40:])+1) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[40:], 0) },
		func(h []byte) { binary.LittleEndian.PutUint32(h[44:], binary.LittleEndian.Uint32(h[44:])+1) },
		func(h []byte) { binary.LittleEndian.PutUint64(h[48:], binary.LittleEndian.Uint64(h[48:])+1) },
		func(h []byte) { binary.LittleEndian.PutUint64(h[48:], 1<<62) },
		func(h []byte) { binary.LittleEndian.PutUint64(h[24:], ^uint64(0)) },
	} {
		b := bytes.Clone(good)
		mutate(b[:indexHeaderSize])
		f.Add(b, true, uint64(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool, probe uint64) {
		if fix {
			data = bytes.Clone(data) // a fuzz function must not modify its input
			fixChecksums(data)
		}
		idx, err := Open(writeIndex(t, data))
		if err != nil {
			if idx != nil {
				t.Fatalf("Open returned an index with error %v", err)
			}
			if !errors.Is(err, ErrBadIndex) {
				t.Fatalf("Open of a readable file: error %v does not wrap ErrBadIndex", err)
			}
			return
		}
		fpCount := binary.LittleEndian.Uint64(data[48:])
		if uint64(len(data)) != indexHeaderSize+2*fpCount {
			t.Fatalf("Open accepted %d bytes for %d fingerprints", len(data), fpCount)
		}
		if n := idx.Len(); n < 1 || uint64(n) > fpCount {
			t.Fatalf("Open accepted a count of %d keys for %d fingerprints", n, fpCount)
		}
		probes := append([]uint64{probe, ^probe, 0, ^uint64(0)}, fuzzIndexKeys...)
		for i := range uint64(32) {
			probes = append(probes, probe*0x9E3779B97F4A7C15+i)
		}
		for _, k := range probes {
			if idx.Contains(sumOf(k)) != idx.Contains(sumOf(k)) {
				t.Fatalf("Contains(%016x) is not deterministic", k)
			}
		}
		if _, err := idx.Breached(context.Background(), string(data[:min(len(data), 80)])); err != nil {
			t.Fatalf("Breached on an open index: %v", err)
		}
		if bytes.Equal(data, good) {
			for _, k := range fuzzIndexKeys {
				if !idx.Contains(sumOf(k)) {
					t.Fatalf("the seed index does not find %016x", k)
				}
			}
		}
		if err := idx.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := idx.Breached(context.Background(), "x"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Breached after Close: %v, want ErrClosed", err)
		}
		if idx.Contains(sumOf(fuzzIndexKeys[0])) {
			t.Fatal("Contains after Close reported true")
		}
	})
}

// hashLine is a line Build indexes, written without Build's code: 40 hex
// digits and an optional decimal count, with white space around.
var hashLine = regexp.MustCompile(`^[0-9A-Fa-f]{40}(?::([0-9]+))?$`)

// FuzzBuildIndex feeds arbitrary hash lists (the HIBP download format)
// to Build and opens what it writes. Build never panics; its statistics
// add up (lines = indexed lines + skipped, indexed lines = distinct keys
// + duplicates); a list without an indexable line is an error; otherwise
// the index opens, holds as many keys as there are distinct ones, and
// finds every indexable line's hash (no false negatives).
func FuzzBuildIndex(f *testing.F) {
	const pw = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" // SHA-1 of "password"
	for _, s := range []string{
		pw + ":10434004\r\n7C4A8D09CA3762AF61E59520943DC26494F8941B:123\n",
		strings.ToLower(pw),
		pw + ":0\n" + pw + ":x\n",
		pw + ":1\n" + pw[:16] + strings.Repeat("F", 24) + ":2\n", // the same key
		pw + ":18446744073709551616\n",
		"  " + pw + ":7  \n\n\n",
		pw[:39] + ":1\n", pw + "Z\n",
		"", "\n", ":", "garbage",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		st, err := BuildWithOptions(strings.NewReader(in), &out, BuildOptions{})
		var lines, indexable int
		keys := map[uint64]bool{}
		for line := range strings.SplitAfterSeq(in, "\n") {
			if line == "" {
				continue
			}
			lines++
			m := hashLine.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			if m[1] != "" {
				if n, err := strconv.ParseUint(m[1], 10, 64); err != nil || n == 0 {
					continue
				}
			}
			k, _ := strconv.ParseUint(strings.TrimSpace(line)[:16], 16, 64)
			keys[k] = true
			indexable++
		}
		if st.Lines != lines || st.Skipped != lines-indexable || st.Indexed+st.Duplicates != indexable {
			t.Fatalf("Build stats %+v; want %d lines, %d skipped, %d indexed with duplicates", st, lines, lines-indexable, indexable)
		}
		if err != nil {
			if len(keys) != 0 {
				t.Fatalf("Build failed with %d indexable lines: %v", indexable, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatalf("Build succeeded without an indexable line")
		}
		if st.Indexed != len(keys) {
			t.Fatalf("Build indexed %d keys, want %d", st.Indexed, len(keys))
		}
		idx := openBuilt(t, out.Bytes())
		if idx.Len() != len(keys) {
			t.Fatalf("index holds %d keys, want %d", idx.Len(), len(keys))
		}
		for k := range keys {
			if !idx.Contains(sumOf(k)) {
				t.Fatalf("index does not find %016x", k)
			}
		}
	})
}

// rangeLine is a well-formed line of an HIBP range response, written
// without parseRange's code.
var rangeLine = regexp.MustCompile(`^([0-9A-Fa-f]{35}):([0-9]+)$`)

// FuzzParseRange feeds arbitrary HIBP range responses (the body comes
// from the network) to parseRange: it never panics, refuses a body
// without a well-formed line, and otherwise returns, sorted and without
// repeats, the first 64 bits of exactly the suffixes of well-formed lines
// with a count above zero.
func FuzzParseRange(f *testing.F) {
	const suffix = "0018A45C4D1DEF81644B54AB7F969B88D65" // 35 hex digits
	for _, s := range []string{
		suffix + ":1\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n",
		strings.ToLower(suffix) + ":3\n", suffix + ":0\r\n",
		suffix + ":1\n" + suffix + ":1\n",
		suffix[:34] + ":1\n", suffix + "\n",
		suffix + ":-1\n", suffix + ": 1\n",
		"<html>rate limited</html>", "", "\r\n", ":",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseRange(bytes.Clone(body))
		wellFormed := 0
		var want []uint64
		for line := range strings.SplitSeq(string(body), "\n") {
			m := rangeLine.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			n, err := strconv.ParseUint(m[2], 10, 64)
			if err != nil {
				continue
			}
			wellFormed++
			if n > 0 {
				k, _ := strconv.ParseUint(m[1][:16], 16, 64)
				want = append(want, k)
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if err != nil {
			if wellFormed > 0 {
				t.Fatalf("parseRange refused %d well-formed lines: %v", wellFormed, err)
			}
			return
		}
		if wellFormed == 0 {
			t.Fatalf("parseRange accepted a body without a well-formed line: %x", got)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("parseRange = %x, want %x", got, want)
		}
	})
}
