package breach

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha1" // #nosec G505 -- SHA-1 is what the Pwned Passwords API is keyed by.
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultHIBPURL is the base URL of the Pwned Passwords API.
const DefaultHIBPURL = "https://api.pwnedpasswords.com"

// Defaults of the HIBP client.
const (
	DefaultHIBPTimeout    = 3 * time.Second
	DefaultHIBPCacheTTL   = 5 * time.Minute
	DefaultHIBPCacheSize  = 1024
	maxRangeResponseBytes = 2 << 20
)

// ErrUnavailable means a remote breach service could not give an answer
// (network error, timeout, non-200 status, malformed response). Callers must
// refuse the password rather than accept it unchecked.
var ErrUnavailable = errors.New("breach service unavailable")

// HIBPClient checks passwords against the Pwned Passwords range API using
// k-anonymity: only the first five hex digits of the password's SHA-1 leave
// the process, and responses are padded (Add-Padding: true). Range responses
// are cached in memory for a short time. It is safe for concurrent use.
type HIBPClient struct {
	base      string
	client    *http.Client
	timeout   time.Duration
	ttl       time.Duration
	maxRanges int
	userAgent string
	now       func() time.Time

	mu       sync.Mutex
	lru      *list.List // of *rangeEntry, most recent first
	cache    map[string]*list.Element
	inflight map[string]*rangeCall

	// waitHook, when set (tests only), runs under mu each time a caller
	// is about to wait for a range request, whether it started it or
	// joined it. Tests use it to know every caller shares one request
	// before letting that request finish.
	waitHook func()
}

// rangeEntry is one cached range: the first 64 bits of every non-padding
// suffix, sorted.
type rangeEntry struct {
	prefix   string
	suffixes []uint64
	expires  time.Time
}

// rangeCall is a fetch in progress that concurrent callers share.
type rangeCall struct {
	done     chan struct{}
	suffixes []uint64
	err      error
}

// HIBPOption configures an HIBPClient.
type HIBPOption func(*HIBPClient)

// WithHTTPClient sets the HTTP client (default: a dedicated client with no
// overall timeout; the per-request timeout comes from WithTimeout).
func WithHTTPClient(c *http.Client) HIBPOption {
	return func(h *HIBPClient) {
		if c != nil {
			h.client = c
		}
	}
}

// WithTimeout bounds each range request (default 3s).
func WithTimeout(d time.Duration) HIBPOption {
	return func(h *HIBPClient) {
		if d > 0 {
			h.timeout = d
		}
	}
}

// WithCache sets how long a range response is reused and how many ranges are
// kept (least recently used are evicted first; about 8 KiB each). A ttl or
// size <= 0 disables the cache.
func WithCache(ttl time.Duration, maxRanges int) HIBPOption {
	return func(h *HIBPClient) {
		h.ttl, h.maxRanges = ttl, maxRanges
	}
}

// WithUserAgent sets the User-Agent header (default "authgate-breach-check").
func WithUserAgent(ua string) HIBPOption {
	return func(h *HIBPClient) {
		if ua != "" {
			h.userAgent = ua
		}
	}
}

// WithClock sets the clock used for cache expiry (tests).
func WithClock(now func() time.Time) HIBPOption {
	return func(h *HIBPClient) {
		if now != nil {
			h.now = now
		}
	}
}

// HIBP returns a client for the Pwned Passwords range API at baseURL
// ("" means DefaultHIBPURL). Requests go to {baseURL}/range/{PREFIX}.
func HIBP(baseURL string, opts ...HIBPOption) *HIBPClient {
	if baseURL == "" {
		baseURL = DefaultHIBPURL
	}
	h := &HIBPClient{
		base:      strings.TrimRight(baseURL, "/"),
		client:    &http.Client{},
		timeout:   DefaultHIBPTimeout,
		ttl:       DefaultHIBPCacheTTL,
		maxRanges: DefaultHIBPCacheSize,
		userAgent: "authgate-breach-check",
		now:       time.Now,
		lru:       list.New(),
		cache:     make(map[string]*list.Element),
		inflight:  make(map[string]*rangeCall),
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Breached reports whether the SHA-1 of pw appears with a non-zero count in
// the Pwned Passwords corpus. Any failure to get an answer returns an error
// wrapping ErrUnavailable (or the context's error).
func (h *HIBPClient) Breached(ctx context.Context, pw string) (bool, error) {
	sum := sha1.Sum([]byte(pw)) // #nosec G401 -- required by the API, not used for secrecy.
	hexSum := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix := hexSum[:5]
	suffixes, err := h.rangeSuffixes(ctx, prefix)
	if err != nil {
		return false, err
	}
	key, _ := strconv.ParseUint(hexSum[5:21], 16, 64)
	_, found := slices.BinarySearch(suffixes, key)
	return found, nil
}

// rangeSuffixes returns the suffix set of a range, from the cache or from one
// shared request.
func (h *HIBPClient) rangeSuffixes(ctx context.Context, prefix string) ([]uint64, error) {
	h.mu.Lock()
	if el, ok := h.cache[prefix]; ok {
		e := el.Value.(*rangeEntry)
		if h.now().Before(e.expires) {
			h.lru.MoveToFront(el)
			h.mu.Unlock()
			return e.suffixes, nil
		}
		h.lru.Remove(el)
		delete(h.cache, prefix)
	}
	call, ok := h.inflight[prefix]
	if !ok {
		call = &rangeCall{done: make(chan struct{})}
		h.inflight[prefix] = call
		// The request is detached from this caller's cancellation (it is
		// shared) but bounded by the client's timeout.
		go h.fetch(context.WithoutCancel(ctx), prefix, call)
	}
	if h.waitHook != nil {
		h.waitHook()
	}
	h.mu.Unlock()

	select {
	case <-call.done:
		return call.suffixes, call.err
	case <-ctx.Done():
		return nil, fmt.Errorf("hibp range %s: %w", prefix, ctx.Err())
	}
}

func (h *HIBPClient) fetch(ctx context.Context, prefix string, call *rangeCall) {
	suffixes, err := h.request(ctx, prefix)
	h.mu.Lock()
	delete(h.inflight, prefix)
	if err == nil && h.ttl > 0 && h.maxRanges > 0 {
		h.cache[prefix] = h.lru.PushFront(&rangeEntry{prefix: prefix, suffixes: suffixes, expires: h.now().Add(h.ttl)})
		for h.lru.Len() > h.maxRanges {
			oldest := h.lru.Back()
			h.lru.Remove(oldest)
			delete(h.cache, oldest.Value.(*rangeEntry).prefix)
		}
	}
	h.mu.Unlock()
	call.suffixes, call.err = suffixes, err
	close(call.done)
}

func (h *HIBPClient) request(ctx context.Context, prefix string) ([]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/range/"+prefix, nil)
	if err != nil {
		return nil, fmt.Errorf("hibp range %s: build request: %w: %w", prefix, ErrUnavailable, err)
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", h.userAgent)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hibp range %s: %w: %w", prefix, ErrUnavailable, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRangeResponseBytes))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("hibp range %s: status %d: %w", prefix, resp.StatusCode, ErrUnavailable)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRangeResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("hibp range %s: read response: %w: %w", prefix, ErrUnavailable, err)
	}
	if len(body) > maxRangeResponseBytes {
		return nil, fmt.Errorf("hibp range %s: response exceeds %d bytes: %w", prefix, maxRangeResponseBytes, ErrUnavailable)
	}
	suffixes, err := parseRange(body)
	if err != nil {
		return nil, fmt.Errorf("hibp range %s: %w: %w", prefix, ErrUnavailable, err)
	}
	return suffixes, nil
}

// parseRange reads "SUFFIX:COUNT" lines (35 hex digits, any case, CRLF or LF)
// and returns the first 64 bits of every suffix with a non-zero count, sorted.
// Malformed lines are ignored, but a body without a single well-formed line is
// an error.
func parseRange(body []byte) ([]uint64, error) {
	var suffixes []uint64
	wellFormed := 0
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte{'\n'})
		suffix, count, ok := bytes.Cut(bytes.TrimSpace(line), []byte{':'})
		if !ok || len(suffix) != 35 || !isHex(suffix) {
			continue
		}
		n, err := strconv.ParseUint(string(count), 10, 64)
		if err != nil {
			continue
		}
		wellFormed++
		if n == 0 { // padding row
			continue
		}
		key, _ := strconv.ParseUint(string(suffix[:16]), 16, 64)
		suffixes = append(suffixes, key)
	}
	if wellFormed == 0 {
		return nil, errors.New("response has no SUFFIX:COUNT lines")
	}
	slices.Sort(suffixes)
	return slices.Compact(suffixes), nil
}

func isHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
