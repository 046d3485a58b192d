package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CaddyBinEnv names the environment variable that holds the path of the
// bin/caddy the process tests run (`make -f xcaddy.mk soak` sets it).
const CaddyBinEnv = "AUTHGATE_CADDY_BIN"

// caddyStartTimeout bounds how long Start waits for the site to answer.
const caddyStartTimeout = 30 * time.Second

// CaddyBinary returns the bin/caddy to run: $AUTHGATE_CADDY_BIN, else
// bin/caddy at the module root (found by walking up from the working
// directory to go.mod). It fails the test when the file is missing, with
// the command that builds it.
func CaddyBinary(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(CaddyBinEnv)
	if p == "" {
		dir, err := os.Getwd()
		if err != nil {
			tb.Fatalf("testenv: working directory: %v", err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				tb.Fatalf("testenv: no go.mod above the working directory; set %s", CaddyBinEnv)
			}
			dir = parent
		}
		p = filepath.Join(dir, "bin", "caddy")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", p, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.Mode()&0o111 == 0 {
		tb.Fatalf("testenv: no executable caddy at %s (build it with `go build -o bin/caddy ./cmd/caddy` or run `make -f xcaddy.mk soak`)", abs)
	}
	return abs
}

// FreeAddr returns "127.0.0.1:port" with a port that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testenv: pick a free port: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// CaddyProcess is a `caddy run` child process with its own Caddyfile,
// HOME and XDG directories (Caddy's autosave and instance id stay out of
// the user's home) and a log file that collects its stdout and stderr.
// It is killed when the test ends.
type CaddyProcess struct {
	// Bin is the caddy executable.
	Bin string
	// AdminAddr is the admin endpoint, as the Caddyfile's `admin` option
	// sets it ("127.0.0.1:port").
	AdminAddr string
	// ConfigPath is the Caddyfile the process runs.
	ConfigPath string
	// ReadyURL is polled by Start until it answers (any HTTP status).
	ReadyURL string

	tb      testing.TB
	dir     string
	logPath string
	env     []string
	proc    process
}

// NewCaddy prepares (does not start) a caddy process that runs caddyfile.
// adminAddr must be the admin address the Caddyfile sets; readyURL is a
// URL of one of its sites that answers once the config is running.
func NewCaddy(tb testing.TB, bin, adminAddr, readyURL, caddyfile string) *CaddyProcess {
	tb.Helper()
	dir := tb.TempDir()
	c := &CaddyProcess{
		Bin:        bin,
		AdminAddr:  adminAddr,
		ConfigPath: filepath.Join(dir, "Caddyfile"),
		ReadyURL:   readyURL,
		tb:         tb,
		dir:        dir,
		logPath:    filepath.Join(dir, "caddy.log"),
	}
	for _, sub := range []string{"home", "data", "config"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
	}
	c.env = append(os.Environ(),
		"HOME="+filepath.Join(dir, "home"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
	)
	c.WriteConfig(caddyfile)
	tb.Cleanup(c.Kill)
	return c
}

// StartCaddy is NewCaddy then Start.
func StartCaddy(tb testing.TB, bin, adminAddr, readyURL, caddyfile string) *CaddyProcess {
	tb.Helper()
	c := NewCaddy(tb, bin, adminAddr, readyURL, caddyfile)
	c.Start()
	return c
}

// Dir is the process's private directory (Caddyfile, log, HOME).
func (c *CaddyProcess) Dir() string { return c.dir }

// WriteConfig replaces the Caddyfile (for the next Start or Reload).
func (c *CaddyProcess) WriteConfig(caddyfile string) {
	c.tb.Helper()
	if err := os.WriteFile(c.ConfigPath, []byte(caddyfile), 0o600); err != nil {
		c.tb.Fatalf("testenv: write Caddyfile: %v", err)
	}
}

// Launch starts the process without waiting for it to be ready. It does
// nothing when the process is running.
func (c *CaddyProcess) Launch() {
	c.tb.Helper()
	_, err := c.proc.start(cmdLine{
		bin:  c.Bin,
		args: []string{"run", "--config", c.ConfigPath, "--adapter", "caddyfile"},
		dir:  c.dir,
		env:  c.env,
		log:  c.logPath,
	})
	if err != nil {
		c.tb.Fatalf("testenv: start %s: %v", c.Bin, err)
	}
}

// Start launches the process and waits until ReadyURL answers. It fails
// the test, with the end of Caddy's log, when the process exits first or
// is not ready within 30 s.
func (c *CaddyProcess) Start() {
	c.tb.Helper()
	c.Launch()
	exited := c.proc.exitedChan()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(caddyStartTimeout)
	for {
		resp, err := client.Get(c.ReadyURL)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return
		}
		select {
		case <-exited:
			c.tb.Fatalf("testenv: caddy exited during startup (%v)\n%s", c.ExitErr(), c.LogTail(40))
		default:
		}
		if time.Now().After(deadline) {
			c.Kill()
			c.tb.Fatalf("testenv: caddy not answering %s within %s: %v\n%s", c.ReadyURL, caddyStartTimeout, err, c.LogTail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the process id of the running process (0 when not running).
func (c *CaddyProcess) Pid() int { return c.proc.pid() }

// Running reports whether the process has been started and not exited.
func (c *CaddyProcess) Running() bool { return c.proc.running() }

// WaitExit waits up to timeout for the process to exit by itself and
// returns its exit error (nil for status 0). It fails the test when the
// process is still running after timeout.
func (c *CaddyProcess) WaitExit(timeout time.Duration) error {
	c.tb.Helper()
	if c.proc.exitedChan() == nil {
		c.tb.Fatal("testenv: WaitExit of a caddy that was never started")
	}
	ok, err := c.proc.wait(timeout)
	if !ok {
		c.tb.Fatalf("testenv: caddy still running after %s\n%s", timeout, c.LogTail(20))
	}
	return err
}

// ExitErr is the exit error of the last run (nil while running or after
// status 0).
func (c *CaddyProcess) ExitErr() error { return c.proc.lastExitErr() }

// Kill sends SIGKILL (a crash: no shutdown, no cleanup) and waits for the
// process to exit. It does nothing when the process is not running.
func (c *CaddyProcess) Kill() { c.proc.stop(syscall.SIGKILL, 0) }

// Stop sends SIGTERM (a graceful stop) and waits up to 15 s for the exit,
// then kills. It does nothing when the process is not running.
func (c *CaddyProcess) Stop() { c.proc.stop(syscall.SIGTERM, 15*time.Second) }

// Reload runs `caddy reload --force` with the Caddyfile (rewritten first
// when caddyfile is not empty) against the admin endpoint, as an operator
// would, and returns the command's output on error.
func (c *CaddyProcess) Reload(caddyfile string) error {
	c.tb.Helper()
	if caddyfile != "" {
		c.WriteConfig(caddyfile)
	}
	out, err := c.Command(30*time.Second, "reload", "--config", c.ConfigPath, "--adapter", "caddyfile",
		"--address", c.AdminAddr, "--force")
	if err != nil {
		return fmt.Errorf("caddy reload: %w\n%s", err, out)
	}
	return nil
}

// Command runs the caddy binary with args (same environment as the
// process, e.g. "authgate", "keys", "rotate", "--address", c.AdminAddr)
// and returns its combined output.
func (c *CaddyProcess) Command(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Log returns everything the process (all its runs) wrote so far.
func (c *CaddyProcess) Log() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	return string(b)
}

// LogTail returns the last n lines of the log, for failure messages.
func (c *CaddyProcess) LogTail(n int) string {
	lines := strings.Split(strings.TrimSpace(c.Log()), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "caddy log (" + c.logPath + "):\n" + strings.Join(lines, "\n")
}

// Goroutines reads the process's goroutine count from the admin
// endpoint's /debug/pprof/goroutine?debug=1 ("goroutine profile: total N").
func (c *CaddyProcess) Goroutines() (int, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Get("http://" + c.AdminAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("pprof goroutine: status %d", resp.StatusCode)
	}
	line, _, _ := bytes.Cut(body, []byte("\n"))
	const prefix = "goroutine profile: total "
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return 0, fmt.Errorf("pprof goroutine: unexpected first line %q", line)
	}
	n, err := strconv.Atoi(string(bytes.TrimPrefix(line, []byte(prefix))))
	if err != nil {
		return 0, errors.New("pprof goroutine: bad count")
	}
	return n, nil
}
