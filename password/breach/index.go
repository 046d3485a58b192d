package breach

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1" // #nosec G505 -- the HIBP corpus is keyed by SHA-1.
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/FastFilter/xorfilter"
)

// Index file layout (little endian). The header is followed by the filter's
// 16-bit fingerprints.
//
//	0  [8]byte magic "AGBRIDX\x00"
//	8  uint32  format version (1)
//	12 uint32  fingerprint bits (16)
//	16 uint64  number of distinct keys
//	24 uint64  seed
//	32 uint32  segment length
//	36 uint32  segment length mask
//	40 uint32  segment count
//	44 uint32  segment count length
//	48 uint64  number of fingerprints
//	56 uint32  CRC-32C of the fingerprint bytes
//	60 uint32  CRC-32C of header bytes 0..59
const (
	indexMagic      = "AGBRIDX\x00"
	indexVersion    = 1
	indexHeaderSize = 64
	fingerprintBits = 16
	maxSegmentLen   = 1 << 18
	// maxKeys keeps the filter's capacity (about 1.13 × keys) within uint32.
	maxKeys uint64 = 3_500_000_000
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by (*Index).Breached after Close.
var ErrClosed = errors.New("breach index is closed")

// ErrBadIndex means an index file is truncated, corrupt or of another format.
var ErrBadIndex = errors.New("invalid breach index file")

// BuildOptions tune Build.
type BuildOptions struct {
	// MinCount skips "SHA1:COUNT" lines whose count is below it (to index only
	// the most frequent hashes of a corpus too large for memory). Lines
	// without a count are always indexed. 0 or 1 keeps every hash; count-0
	// (padding) lines are always skipped.
	MinCount uint64
}

// BuildStats describe a build.
type BuildStats struct {
	// Lines is the number of lines read.
	Lines int
	// Indexed is the number of distinct keys in the index.
	Indexed int
	// Skipped counts blank, malformed, count-0 and below-MinCount lines.
	Skipped int
	// Duplicates counts hashes seen more than once (by their first 64 bits).
	Duplicates int
}

// Build reads hashes in the HIBP download format, one "SHA1HEX:COUNT" per line
// (bare 40-digit SHA-1 hex lines are accepted too; case and CRLF do not
// matter), and writes a compact index to w: a binary fuse filter with 16-bit
// fingerprints over the first 64 bits of each SHA-1, about 2.26 bytes per
// hash with a false-positive rate of about 2^-16 (1.5e-5). Blank and
// malformed lines are skipped. n is the number of distinct hashes indexed; an
// input with none is an error. Memory during the build is about 50 bytes per
// input hash (about 0.5 GB for 10 million).
func Build(r io.Reader, w io.Writer) (n int, err error) {
	st, err := BuildWithOptions(r, w, BuildOptions{})
	return st.Indexed, err
}

// BuildWithOptions is Build with options, returning line statistics.
func BuildWithOptions(r io.Reader, w io.Writer, opts BuildOptions) (BuildStats, error) {
	var st BuildStats
	keys, err := readKeys(r, opts, &st)
	if err != nil {
		return st, err
	}
	slices.Sort(keys)
	before := len(keys)
	keys = slices.Compact(keys)
	st.Duplicates = before - len(keys)
	if len(keys) == 0 {
		return st, fmt.Errorf("build breach index: no valid hashes in %d lines", st.Lines)
	}
	if uint64(len(keys)) > maxKeys {
		return st, fmt.Errorf("build breach index: %d distinct hashes exceed the limit of %d (raise BuildOptions.MinCount)", len(keys), maxKeys)
	}
	filter, err := xorfilter.NewBinaryFuse[uint16](keys)
	if err != nil {
		return st, fmt.Errorf("build breach index: construct filter: %w", err)
	}
	st.Indexed = len(keys)

	body := make([]byte, 2*len(filter.Fingerprints))
	for i, fp := range filter.Fingerprints {
		binary.LittleEndian.PutUint16(body[2*i:], fp)
	}
	hdr := make([]byte, indexHeaderSize)
	copy(hdr, indexMagic)
	binary.LittleEndian.PutUint32(hdr[8:], indexVersion)
	binary.LittleEndian.PutUint32(hdr[12:], fingerprintBits)
	binary.LittleEndian.PutUint64(hdr[16:], uint64(st.Indexed))
	binary.LittleEndian.PutUint64(hdr[24:], filter.Seed)
	binary.LittleEndian.PutUint32(hdr[32:], filter.SegmentLength)
	binary.LittleEndian.PutUint32(hdr[36:], filter.SegmentLengthMask)
	binary.LittleEndian.PutUint32(hdr[40:], filter.SegmentCount)
	binary.LittleEndian.PutUint32(hdr[44:], filter.SegmentCountLength)
	binary.LittleEndian.PutUint64(hdr[48:], uint64(len(filter.Fingerprints)))
	binary.LittleEndian.PutUint32(hdr[56:], crc32.Checksum(body, castagnoli))
	binary.LittleEndian.PutUint32(hdr[60:], crc32.Checksum(hdr[:60], castagnoli))
	if _, err := w.Write(hdr); err != nil {
		return st, fmt.Errorf("build breach index: write header: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return st, fmt.Errorf("build breach index: write fingerprints: %w", err)
	}
	return st, nil
}

// readKeys parses the input into 64-bit keys (the first 8 bytes of each SHA-1).
func readKeys(r io.Reader, opts BuildOptions, st *BuildStats) ([]uint64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	keys := make([]uint64, 0, 1<<16)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An absurdly long line: skip it whole.
			st.Lines++
			st.Skipped++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("build breach index: read: %w", err)
			}
			if err != nil {
				return keys, nil
			}
			continue
		}
		if len(line) > 0 {
			st.Lines++
			if key, ok := parseHashLine(line, opts.MinCount); ok {
				keys = append(keys, key)
			} else {
				st.Skipped++
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return keys, nil
			}
			return nil, fmt.Errorf("build breach index: read: %w", err)
		}
	}
}

// parseHashLine parses "SHA1HEX[:COUNT]" and returns the first 64 bits.
func parseHashLine(line []byte, minCount uint64) (uint64, bool) {
	line = bytes.TrimSpace(line)
	hexPart, countPart, hasCount := bytes.Cut(line, []byte{':'})
	if len(hexPart) != 40 {
		return 0, false
	}
	var key uint64
	for i, c := range hexPart {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		if i < 16 {
			key = key<<4 | uint64(v)
		}
	}
	if hasCount {
		n, err := strconv.ParseUint(string(countPart), 10, 64)
		if err != nil || n == 0 || n < minCount {
			return 0, false
		}
	}
	return key, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Index is an opened breach index: a read-only, memory-mapped (where the
// platform allows) binary fuse filter. Lookups are safe for concurrent use,
// take no lock and well under a microsecond.
type Index struct {
	m     atomic.Pointer[mapping]
	count int
}

// mapping owns the index bytes. It is released (unmapped) only once it is
// unreachable, so a lookup that loaded it before Close can never touch freed
// memory; Close merely detaches it.
type mapping struct {
	filter xorfilter.BinaryFuse[uint16]
}

// Open loads an index written by Build, memory-mapping it where supported
// (otherwise reading it whole). The header and a checksum of the whole file
// are verified; errors wrap ErrBadIndex for malformed files. The file must not
// be modified in place while open: to update it, write a new file, rename it
// over the old one and Open it again.
func Open(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open breach index: %w", err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open breach index: %w", err)
	}
	var hdr [indexHeaderSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("open breach index %s: read header: %w: %w", path, ErrBadIndex, err)
	}
	filter, count, fpCount, err := parseHeader(hdr[:])
	if err != nil {
		return nil, fmt.Errorf("open breach index %s: %w", path, err)
	}
	want := uint64(indexHeaderSize) + 2*fpCount
	if fi.Size() < 0 || uint64(fi.Size()) != want || want > uint64(maxInt) {
		return nil, fmt.Errorf("open breach index %s: size %d, header implies %d: %w", path, fi.Size(), want, ErrBadIndex)
	}
	data, unmap, err := mapFile(f, int(want))
	if err != nil {
		return nil, fmt.Errorf("open breach index %s: %w", path, err)
	}
	body := data[indexHeaderSize:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(hdr[56:]) {
		_ = unmap(data)
		return nil, fmt.Errorf("open breach index %s: checksum mismatch: %w", path, ErrBadIndex)
	}
	if nativeLittleEndian && uintptr(unsafe.Pointer(unsafe.SliceData(body)))%2 == 0 {
		filter.Fingerprints = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(body))), fpCount)
	} else {
		fps := make([]uint16, fpCount)
		for i := range fps {
			fps[i] = binary.LittleEndian.Uint16(body[2*i:])
		}
		filter.Fingerprints = fps
	}
	m := &mapping{filter: filter}
	runtime.AddCleanup(m, func(data []byte) { _ = unmap(data) }, data)
	x := &Index{count: count}
	x.m.Store(m)
	return x, nil
}

const maxInt = int(^uint(0) >> 1)

var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// parseHeader validates the header so that no lookup can index out of range,
// and returns a filter without fingerprints, the key count and the
// fingerprint count.
func parseHeader(h []byte) (f xorfilter.BinaryFuse[uint16], count int, fpCount uint64, err error) {
	le := binary.LittleEndian
	if string(h[:8]) != indexMagic {
		return f, 0, 0, fmt.Errorf("not a breach index (bad magic): %w", ErrBadIndex)
	}
	if crc32.Checksum(h[:60], castagnoli) != le.Uint32(h[60:]) {
		return f, 0, 0, fmt.Errorf("header checksum mismatch: %w", ErrBadIndex)
	}
	if v := le.Uint32(h[8:]); v != indexVersion {
		return f, 0, 0, fmt.Errorf("unsupported index version %d: %w", v, ErrBadIndex)
	}
	if b := le.Uint32(h[12:]); b != fingerprintBits {
		return f, 0, 0, fmt.Errorf("unsupported fingerprint size %d bits: %w", b, ErrBadIndex)
	}
	n := le.Uint64(h[16:])
	f.Seed = le.Uint64(h[24:])
	f.SegmentLength = le.Uint32(h[32:])
	f.SegmentLengthMask = le.Uint32(h[36:])
	f.SegmentCount = le.Uint32(h[40:])
	f.SegmentCountLength = le.Uint32(h[44:])
	fpCount = le.Uint64(h[48:])
	segLen := uint64(f.SegmentLength)
	switch {
	case segLen == 0 || segLen > maxSegmentLen || bits.OnesCount64(segLen) != 1:
		return f, 0, 0, fmt.Errorf("bad segment length %d: %w", segLen, ErrBadIndex)
	case f.SegmentLengthMask != f.SegmentLength-1:
		return f, 0, 0, fmt.Errorf("bad segment mask: %w", ErrBadIndex)
	case f.SegmentCount == 0 || uint64(f.SegmentCount)*segLen != uint64(f.SegmentCountLength):
		return f, 0, 0, fmt.Errorf("bad segment count: %w", ErrBadIndex)
	case fpCount != (uint64(f.SegmentCount)+2)*segLen:
		return f, 0, 0, fmt.Errorf("fingerprint count %d does not match segments: %w", fpCount, ErrBadIndex)
	case n == 0 || n > fpCount:
		return f, 0, 0, fmt.Errorf("bad key count %d: %w", n, ErrBadIndex)
	}
	if fpCount > uint64(maxInt)/2 {
		return f, 0, 0, fmt.Errorf("index too large for this platform: %w", ErrBadIndex)
	}
	return f, int(n), fpCount, nil
}

// Contains reports whether a SHA-1 digest is (probably) in the index. False
// positives occur at about 2^-16; there are no false negatives. After Close it
// returns false.
func (x *Index) Contains(sum [20]byte) bool {
	m := x.m.Load()
	if m == nil {
		return false
	}
	return m.filter.Contains(binary.BigEndian.Uint64(sum[:8]))
}

// Breached reports whether the SHA-1 of pw is in the index.
func (x *Index) Breached(_ context.Context, pw string) (bool, error) {
	m := x.m.Load()
	if m == nil {
		return false, ErrClosed
	}
	sum := sha1.Sum([]byte(pw)) // #nosec G401 -- index key, not used for secrecy.
	return m.filter.Contains(binary.BigEndian.Uint64(sum[:8])), nil
}

// Len returns the number of distinct hashes in the index.
func (x *Index) Len() int { return x.count }

// Close detaches the index: later lookups report not found (Contains) or
// ErrClosed (Breached). The mapping itself is released once no lookup still
// running uses it (at the next garbage collection). Close is idempotent and
// never fails.
func (x *Index) Close() error {
	x.m.Store(nil)
	return nil
}
