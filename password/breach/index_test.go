package breach

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// randomSums returns a deterministic stream of random 20-byte "SHA-1s".
func randomSums(seed uint64) func() [20]byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 0xA5}))
	return func() [20]byte {
		var s [20]byte
		binary.LittleEndian.PutUint64(s[0:], r.Uint64())
		binary.LittleEndian.PutUint64(s[8:], r.Uint64())
		binary.LittleEndian.PutUint32(s[16:], r.Uint32())
		return s
	}
}

// writeHashFile writes n hashes from next in the HIBP download format
// ("HEX:COUNT\r\n") and returns the path.
func writeHashFile(tb testing.TB, dir string, n int, next func() [20]byte) string {
	tb.Helper()
	path := filepath.Join(dir, "hashes.txt")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := make([]byte, 0, 64)
	for i := range n {
		s := next()
		line = hex.AppendEncode(line[:0], s[:])
		line = bytes.ToUpper(line)
		line = fmt.Appendf(line, ":%d\r\n", i%1000+1)
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeIndex writes data to an index file of the test's and returns its
// path.
func writeIndex(tb testing.TB, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "index")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// openBuilt writes what Build wrote to a file and opens it as an Index,
// closed when the test ends.
func openBuilt(tb testing.TB, built []byte) *Index {
	tb.Helper()
	idx, err := Open(writeIndex(tb, built))
	if err != nil {
		tb.Fatalf("Open of what Build wrote: %v", err)
	}
	tb.Cleanup(func() { idx.Close() })
	return idx
}

// buildIndexFile builds an index from a hash file and returns its path.
func buildIndexFile(tb testing.TB, src string) (string, int) {
	tb.Helper()
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(filepath.Dir(src), "index.bin")
	out, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(out)
	n, err := Build(in, w)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, n
}

// C-11: every hash of a 1M-line file is found; random other hashes give false
// positives at no more than 2e-5. 10M probes (not 1M) keep the check
// statistically sound: the expected rate is 2^-16 ≈ 1.53e-5, so 1M probes
// would expect 15.3 hits against a limit of 20 and fail about 12% of seeds;
// with 10M the limit is 3.8 standard deviations above the mean.
func TestIndexAllFoundAndFalsePositiveRate(t *testing.T) {
	const n = 1_000_000
	dir := t.TempDir()
	src := writeHashFile(t, dir, n, randomSums(1))
	path, got := buildIndexFile(t, src)
	if got != n {
		t.Fatalf("Build indexed %d hashes, want %d", got, n)
	}
	idx, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer idx.Close()
	if idx.Len() != n {
		t.Fatalf("Len = %d, want %d", idx.Len(), n)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	perHash := float64(fi.Size()) / n
	if perHash > 2.5 {
		t.Fatalf("index uses %.3f bytes per hash, want <= 2.5", perHash)
	}

	next := randomSums(1)
	for i := range n {
		s := next()
		if !idx.Contains(s) {
			t.Fatalf("hash %d (%x) not found", i, s)
		}
	}

	const probes = 10_000_000
	other := randomSums(2)
	fp := 0
	for range probes {
		if idx.Contains(other()) {
			fp++
		}
	}
	rate := float64(fp) / probes
	t.Logf("%d hashes, %.3f bytes/hash, %d false positives in %d probes (rate %.2e)", n, perHash, fp, probes, rate)
	if rate > 2e-5 {
		t.Fatalf("false-positive rate %.2e > 2e-5", rate)
	}
}

func TestIndexBreachedAndInputFormats(t *testing.T) {
	pws := []string{"password", "123456", "iloveyou", "correct horse battery staple", "ﬁnal"}
	var in strings.Builder
	in.WriteString("\r\n   \n") // blank lines
	for i, pw := range pws {
		s := sha1.Sum([]byte(pw))
		h := hex.EncodeToString(s[:])
		switch i % 3 {
		case 0:
			fmt.Fprintf(&in, "%s:%d\r\n", strings.ToUpper(h), 100+i) // HIBP format
		case 1:
			fmt.Fprintf(&in, "%s\n", h) // bare, lowercase
		default:
			fmt.Fprintf(&in, "  %s:%d  \n", h, 7) // surrounding spaces
		}
	}
	bad := []string{
		"not a hash",
		strings.Repeat("A", 39) + ":3",                       // 39 digits
		strings.Repeat("A", 41),                              // 41 digits
		strings.Repeat("G", 40) + ":3",                       // not hex
		strings.Repeat("B", 40) + ":0",                       // padding row
		strings.Repeat("C", 40) + ":abc",                     // bad count
		strings.Repeat("D", 40) + ":-1",                      // negative
		strings.Repeat("E", 40) + ":",                        // empty count
		strings.Repeat("F", 40) + ":1:2",                     // extra field
		strings.Repeat("x", 3<<20),                           // a 3 MB line
		strings.Repeat("0", 40) + "\x00",                     // NUL
		"\xff\xfe" + strings.Repeat("1", 38),                 // binary
		strings.Repeat("A", 20) + " " + "A:1",                // space inside
		strings.Repeat("9", 40) + ":99999999999999999999999", // overflow
	}
	for _, b := range bad {
		in.WriteString(b + "\n")
	}
	s0 := sha1.Sum([]byte(pws[0]))
	fmt.Fprintf(&in, "%s:5\n", hex.EncodeToString(s0[:])) // duplicate, no trailing newline next
	s1 := sha1.Sum([]byte(pws[1]))
	fmt.Fprintf(&in, "%s", strings.ToUpper(hex.EncodeToString(s1[:])))

	var out bytes.Buffer
	st, err := BuildWithOptions(strings.NewReader(in.String()), &out, BuildOptions{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := BuildStats{Lines: 2 + len(pws) + len(bad) + 2, Indexed: len(pws), Skipped: 2 + len(bad), Duplicates: 2}
	if st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	idx := openBuilt(t, out.Bytes())
	ctx := context.Background()
	for _, pw := range pws {
		if ok, err := idx.Breached(ctx, pw); err != nil || !ok {
			t.Errorf("Breached(%q) = %v, %v; want true", pw, ok, err)
		}
	}
	for _, pw := range []string{"password-vault-orchid-7", "Password", "final"} {
		if ok, err := idx.Breached(ctx, pw); err != nil || ok {
			t.Errorf("Breached(%q) = %v, %v; want false", pw, ok, err)
		}
	}
}

func TestBuildMinCount(t *testing.T) {
	in := strings.Repeat("A", 40) + ":1\n" + strings.Repeat("B", 40) + ":50\n" + strings.Repeat("C", 40) + "\n"
	st, err := BuildWithOptions(strings.NewReader(in), io.Discard, BuildOptions{MinCount: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.Indexed != 2 || st.Skipped != 1 {
		t.Fatalf("stats = %+v, want 2 indexed (count 50 and bare), 1 skipped", st)
	}
}

func TestBuildRejectsEmptyInput(t *testing.T) {
	for _, in := range []string{"", "\n\n", "garbage\nmore garbage\n", strings.Repeat("A", 40) + ":0\n"} {
		var out bytes.Buffer
		n, err := Build(strings.NewReader(in), &out)
		if err == nil || n != 0 || out.Len() != 0 {
			t.Errorf("Build(%q) = %d, %v with %d bytes written; want an error and nothing written", in, n, err, out.Len())
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("read error") }

func TestBuildIOErrors(t *testing.T) {
	if _, err := Build(strings.NewReader(strings.Repeat("A", 40)+"\n"), failingWriter{}); err == nil {
		t.Error("Build with a failing writer succeeded")
	}
	if _, err := Build(io.MultiReader(strings.NewReader(strings.Repeat("A", 40)+"\n"), failingReader{}), io.Discard); err == nil {
		t.Error("Build with a failing reader succeeded")
	}
}

// smallIndex builds an index of a few hashes and returns its bytes.
func smallIndex(t *testing.T) []byte {
	t.Helper()
	var in strings.Builder
	next := randomSums(3)
	for range 1000 {
		s := next()
		fmt.Fprintf(&in, "%X:1\n", s[:])
	}
	var out bytes.Buffer
	if _, err := Build(strings.NewReader(in.String()), &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestOpenRejectsBadFiles(t *testing.T) {
	good := smallIndex(t)
	withHeader := func(mutate func(h []byte)) []byte {
		b := bytes.Clone(good)
		mutate(b[:indexHeaderSize])
		binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
		return b
	}
	cases := map[string][]byte{
		"empty":             {},
		"short header":      good[:10],
		"header only":       good[:indexHeaderSize],
		"truncated":         good[:len(good)-1],
		"extra byte":        append(bytes.Clone(good), 0),
		"bad magic":         withHeader(func(h []byte) { h[0] = 'X' }),
		"header corrupted":  func() []byte { b := bytes.Clone(good); b[20]++; return b }(),
		"body corrupted":    func() []byte { b := bytes.Clone(good); b[len(b)-3]++; return b }(),
		"version 2":         withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[8:], 2) }),
		"8-bit fingerprint": withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[12:], 8) }),
		"zero keys":         withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[16:], 0) }),
		"segment length 3":  withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[32:], 3) }),
		"segment mask":      withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[36:], 0xffff) }),
		"segment count": withHeader(func(h []byte) {
			binary.LittleEndian.PutUint32(h[40:], binary.LittleEndian.Uint32(h[40:])+1)
		}),
		"segment count length": withHeader(func(h []byte) {
			binary.LittleEndian.PutUint32(h[44:], binary.LittleEndian.Uint32(h[44:])+1)
		}),
		"fingerprint count": withHeader(func(h []byte) {
			binary.LittleEndian.PutUint64(h[48:], binary.LittleEndian.Uint64(h[48:])+1)
		}),
		"huge fingerprint count": withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[48:], 1<<62) }),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			idx, err := Open(writeIndex(t, data))
			if err == nil {
				idx.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrBadIndex) {
				t.Fatalf("Open error %v does not wrap ErrBadIndex", err)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(missing) = %v, want ErrNotExist", err)
	}
	// The untouched bytes open fine (the cases above fail for their reason).
	idx, err := Open(writeIndex(t, good))
	if err != nil {
		t.Fatalf("Open(good): %v", err)
	}
	idx.Close()
}

func TestIndexClose(t *testing.T) {
	var out bytes.Buffer
	s := sha1.Sum([]byte("password"))
	if _, err := Build(strings.NewReader(hex.EncodeToString(s[:])), &out); err != nil {
		t.Fatal(err)
	}
	idx := openBuilt(t, out.Bytes())
	if !idx.Contains(s) {
		t.Fatal("single hash not found")
	}
	// Lookups racing with Close neither crash nor report stale data as an
	// error. Every goroutine has done a lookup before Close is called and
	// keeps looking up until it sees ErrClosed, so lookups run on both
	// sides of Close.
	var started, wg sync.WaitGroup
	started.Add(4)
	for range 4 {
		wg.Go(func() {
			for first := true; ; first = false {
				_, err := idx.Breached(context.Background(), "password")
				if first {
					started.Done()
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Breached: %v", err)
					return
				}
			}
		})
	}
	started.Wait()
	if err := idx.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if idx.Contains(s) {
		t.Fatal("Contains true after Close")
	}
	if _, err := idx.Breached(context.Background(), "password"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Breached after Close = %v, want ErrClosed", err)
	}
	if err := idx.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// The file mapping is released once the index is closed and no lookup uses it.
func TestIndexCloseReleasesMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release-check.idx")
	if err := os.WriteFile(path, smallIndex(t), 0o600); err != nil {
		t.Fatal(err)
	}
	mapped := func() bool {
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatalf("read /proc/self/maps: %v", err)
		}
		return bytes.Contains(maps, []byte(path))
	}
	idx, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !mapped() {
		t.Fatal("index file is not memory-mapped after Open")
	}
	idx.Close()
	deadline := time.Now().Add(5 * time.Second)
	for mapped() {
		if time.Now().After(deadline) {
			t.Fatal("index file still mapped 5s after Close")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkIndexContains builds an index of 10,000,000 random hashes (from a
// HIBP-format file in the benchmark's temp dir) once, then measures lookups,
// half of them hits. It reports bytes/hash of the index file, the measured
// false-positive rate on 8M absent hashes and the build time.
func BenchmarkIndexContains(b *testing.B) {
	const n = 10_000_000
	dir := b.TempDir()
	src := writeHashFile(b, dir, n, randomSums(10))
	start := time.Now()
	path, got := buildIndexFile(b, src)
	buildTime := time.Since(start)
	if got != n {
		b.Fatalf("indexed %d, want %d", got, n)
	}
	if err := os.Remove(src); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	idx, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()

	const q = 1 << 20
	queries := make([][20]byte, q)
	present, absent := randomSums(10), randomSums(11)
	for i := range queries {
		if i%2 == 1 {
			queries[i] = absent()
			continue
		}
		queries[i] = present()
		for range 9 { // spread the hits over the set: 10 × q/2 < n
			present()
		}
	}
	const probes = 8 << 20 // enough absent hashes for a stable rate estimate
	fp := 0
	probe := randomSums(12)
	for range probes {
		if idx.Contains(probe()) {
			fp++
		}
	}
	for i, s := range queries {
		if i%2 == 0 && !idx.Contains(s) {
			b.Fatalf("member %d not found", i)
		}
	}

	i := 0
	hits := 0
	for b.Loop() {
		if idx.Contains(queries[i&(q-1)]) {
			hits++
		}
		i++
	}
	if hits < i/2 {
		b.Fatalf("%d hits in %d lookups, want at least half", hits, i)
	}
	b.ReportMetric(float64(fi.Size())/n, "bytes/hash")
	b.ReportMetric(float64(fp)/probes, "fpr")
	b.ReportMetric(buildTime.Seconds(), "build-s")
}
