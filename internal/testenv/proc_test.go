package testenv

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

// A command that exited by itself is not running: start runs the next
// one (as RedisNode.Start and CaddyProcess.Launch promise: they do
// nothing only while the process runs), and the last exit stays readable
// until then.
func TestProcessStartsAgainAfterItExits(t *testing.T) {
	var p process
	t.Cleanup(func() { p.stop(syscall.SIGKILL, 0) })
	if started, err := p.start(cmdLine{bin: "/bin/sh", args: []string{"-c", "exit 3"}}); err != nil || !started {
		t.Fatalf("first start = %v, %v; want a run", started, err)
	}
	<-p.exitedChan()
	if p.running() {
		t.Fatal("running after the command exited")
	}
	var exit *exec.ExitError
	if err := p.lastExitErr(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("last exit = %v, want status 3", err)
	}
	started, err := p.start(cmdLine{bin: "/bin/sh", args: []string{"-c", "exec sleep 60"}})
	if err != nil || !started {
		t.Fatalf("start after the exit = %v, %v; want a new run", started, err)
	}
	if !p.running() || p.lastExitErr() != nil {
		t.Fatalf("new run: running %v, last exit %v; want running with no exit yet", p.running(), p.lastExitErr())
	}
	if started, err := p.start(cmdLine{bin: "/bin/sh", args: []string{"-c", "exit 0"}}); err != nil || started {
		t.Fatalf("start while running = %v, %v; want nothing started", started, err)
	}
	p.stop(syscall.SIGKILL, 0)
	if p.running() || p.pid() != 0 {
		t.Fatalf("after stop: running %v, pid %d", p.running(), p.pid())
	}
}
