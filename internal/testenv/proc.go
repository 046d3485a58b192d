package testenv

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// cmdLine is what a process runs.
type cmdLine struct {
	bin  string
	args []string
	dir  string
	env  []string // nil: this process's environment
	log  string   // file that collects stdout and stderr (appended); "": none
}

// process is a child process that can be started again after it exits:
// the one plumbing of RedisNode, CaddyProcess and mailpit. Its methods
// are safe for concurrent use.
type process struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	exitErr error         // of the last run, set before exited closes
}

// errNotRunning is what signal returns when no command runs.
var errNotRunning = errors.New("not running")

// start runs c unless a command is running, and reports whether it did.
// A command that exited by itself no longer runs: start runs c in its
// place (the exit error read until then is the old run's). The exit is
// waited for in the background.
func (p *process) start(c cmdLine) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited:
		default:
			return false, nil
		}
	}
	cmd := exec.Command(c.bin, c.args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var log *os.File
	if c.log != "" {
		f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return false, err
		}
		log, cmd.Stdout, cmd.Stderr = f, f, f
	}
	if err := cmd.Start(); err != nil {
		if log != nil {
			_ = log.Close()
		}
		return false, err
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.exitErr = cmd, exited, nil
	go func() {
		err := cmd.Wait()
		if log != nil {
			_ = log.Close()
		}
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return true, nil
}

// exitedChan is closed when the running command exits (nil when none was
// started since the last stop).
func (p *process) exitedChan() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// running reports whether a command was started and has not exited.
func (p *process) running() bool {
	ch := p.exitedChan()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// pid is the running command's process id (0 when none).
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// signal sends sig to the running command and returns its pid.
func (p *process) signal(sig os.Signal) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0, errNotRunning
	}
	return p.cmd.Process.Pid, p.cmd.Process.Signal(sig)
}

// stop sends sig and waits for the exit; with a grace above zero it kills
// the command when it is still running after grace. A paused (SIGSTOP)
// command is continued first, so that it can act on sig. It does nothing
// when no command runs.
func (p *process) stop(sig os.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-exited:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-exited
		}
	} else {
		<-exited
	}
	p.forget(cmd)
}

// forget clears cmd, once it has exited, so that start runs anew.
func (p *process) forget(cmd *exec.Cmd) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == cmd {
		p.cmd, p.exited = nil, nil
	}
}

// wait waits up to timeout for the command to exit by itself and returns
// its exit error; ok is false when it still runs after timeout.
func (p *process) wait(timeout time.Duration) (ok bool, err error) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(timeout):
		return false, nil
	}
	p.forget(cmd)
	return true, p.lastExitErr()
}

// lastExitErr is the exit error of the last run (nil while running or
// after status 0).
func (p *process) lastExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}
