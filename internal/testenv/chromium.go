package testenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserTimeout bounds everything one test does with the browser that
// Browser gives it: when it passes, every pending chromedp action fails
// with context.DeadlineExceeded.
const BrowserTimeout = 60 * time.Second

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// chromiumStartTimeout bounds the browser's start.
const chromiumStartTimeout = 30 * time.Second

// chromiumCloseTimeout bounds the graceful close at the end of a test;
// after it the process is killed.
const chromiumCloseTimeout = 10 * time.Second

// chromiumOutputMax is how much of the browser's own output (stderr and
// stdout) is kept for the log of a failed test.
const chromiumOutputMax = 16 << 10

// chromiumSwitches are the switches (all turned on) a test browser runs
// with: no network traffic of its own (QUIC, background fetches, updates,
// sync, Safe Browsing, crash reports, metrics uploads, pings), no
// extensions or default apps, no system keychain, and /tmp instead of a
// small /dev/shm.
var chromiumSwitches = []string{
	"disable-quic",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"disable-default-apps",
	"disable-extensions",
	"disable-domain-reliability",
	"disable-client-side-phishing-detection",
	"safebrowsing-disable-auto-update",
	"disable-breakpad",
	"disable-dev-shm-usage",
	"metrics-recording-only",
	"no-pings",
	"use-mock-keychain",
}

// Browser starts a headless Chromium for the test and returns a chromedp
// context for its first tab. The browser has a fresh profile in a
// temporary directory, talks to nothing on the internet (background
// networking, component updates, sync and QUIC are off) and runs without
// the sandbox, which Chromium refuses when run as root. Every action run
// with the context fails once BrowserTimeout has passed; the browser is
// closed and its profile removed in t.Cleanup. When the test fails, the
// tail of the browser's own output is logged.
//
// The browser is /usr/bin/chromium or `chromium` in PATH; when missing the
// test fails with a hint to run `make -f xcaddy.mk test`, which installs it.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin := chromiumBinary(t)
	profile := t.TempDir() // removed after the cleanups below have run
	out := &tailBuffer{max: chromiumOutputMax}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	}
	for _, name := range chromiumSwitches {
		opts = append(opts, chromedp.Flag(name, true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	logs := &guardedLog{t: t}
	base, cancelBase := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logs.logf))

	// The first Run starts the browser, which then lives as long as base
	// (not the timeout context below, whose end would kill it).
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(base) }()
	var startErr error
	select {
	case startErr = <-started:
	case <-time.After(chromiumStartTimeout):
		startErr = errors.New("timed out")
	}
	ctx, cancelTimeout := context.WithTimeout(base, BrowserTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		closeCtx, cancelClose := context.WithTimeout(base, chromiumCloseTimeout)
		_ = chromedp.Cancel(closeCtx) // graceful close; errors only mean it was already gone
		cancelClose()
		cancelBase()
		cancelAlloc() // waits for the process to exit
		logs.stop()
		if t.Failed() {
			if s := out.String(); s != "" {
				t.Logf("testenv: chromium output (tail):\n%s", s)
			}
		}
	})
	if startErr != nil {
		t.Fatalf("testenv: starting %s: %v\nchromium output:\n%s", bin, startErr, out.String())
	}
	return ctx
}

// NewBrowserContext returns a chromedp context for a new tab in a new
// browser context (like an incognito window: its own cookies and storage)
// of the browser behind ctx, which must come from Browser. It shares the
// deadline of ctx and is closed in t.Cleanup.
func NewBrowserContext(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	nctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(nctx); err != nil {
		t.Fatalf("testenv: opening a new browser context: %v", err)
	}
	return nctx
}

// chromiumBinary finds the browser or fails the test.
func chromiumBinary(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat(chromiumPath); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return chromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatalf("testenv: chromium not found at %s or in PATH; run `make -f xcaddy.mk test`, which installs it", chromiumPath)
	return ""
}

// tailBuffer keeps the last max bytes of the lines written to it, less
// the lines about D-Bus: a container has no bus, and Chromium complains
// about it dozens of times, which would hide anything useful.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	partial []byte
	buf     []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := b.partial[:i+1]
		if !bytes.Contains(line, []byte(":ERROR:dbus/")) {
			b.buf = append(b.buf, line...)
		}
		b.partial = b.partial[i+1:]
	}
	if len(b.partial) > b.max { // a line without end: keep its tail
		b.partial = b.partial[len(b.partial)-b.max:]
	}
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf) + string(b.partial)
}

// guardedLog forwards chromedp's error logs to the test until stop: a
// testing.TB must not be used after its test has finished, and chromedp's
// goroutines can outlive it by a moment.
type guardedLog struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (l *guardedLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("chromedp: "+format, args...)
	}
}

func (l *guardedLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}
