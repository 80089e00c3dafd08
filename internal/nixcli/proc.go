package nixcli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Exec is how a Nix process is started, beyond its arguments. The zero
// value starts it plainly (in its own process group, dying with nixgate).
type Exec struct {
	// Env holds NAME=VALUE pairs added to nixgate's environment (TMPDIR,
	// NIX_SSHOPTS).
	Env []string
	// ClockShift, when not zero, runs Nix in a new time namespace whose
	// monotonic and boot-time clocks are ahead by this much (unshare
	// --time): the builds Nix runs itself (chroot stores, the local store
	// without a daemon) see another uptime. The wall clock cannot be
	// shifted by a namespace.
	ClockShift time.Duration
	// CPUs, when not empty, pins Nix and its builds to these CPUs
	// (taskset): the builds see that many CPUs (nproc).
	CPUs []int
	// PIDNamespace runs Nix as the first process of a new pid namespace
	// (with its own /proc), so that its builds die with it: Nix's
	// sandboxed builders survive a SIGKILL of Nix itself (they are not
	// its children by then), not the end of their pid namespace. Needs
	// root; for the builds Nix runs itself.
	PIDNamespace bool
}

// wrapped returns the command line of name args under e's wrappers.
func (e Exec) wrapped(name string, args []string) (string, []string) {
	var pre []string
	if e.ClockShift != 0 || e.PIDNamespace {
		// --fork: a time or pid namespace applies to the children of the
		// process that unshares it; --kill-child: the child dies with
		// unshare, which dies with nixgate (Pdeathsig below), and with it
		// everything in its pid namespace.
		pre = append(pre, "unshare")
		if e.PIDNamespace {
			pre = append(pre, "--pid", "--mount", "--mount-proc")
		}
		if e.ClockShift != 0 {
			s := strconv.FormatInt(int64(e.ClockShift/time.Second), 10)
			pre = append(pre, "--time", "--monotonic", s, "--boottime", s)
		}
		pre = append(pre, "--fork", "--kill-child=SIGKILL", "--")
	}
	if len(e.CPUs) > 0 {
		list := ""
		for i, c := range e.CPUs {
			if i > 0 {
				list += ","
			}
			list += strconv.Itoa(c)
		}
		pre = append(pre, "taskset", "--cpu-list", list)
	}
	if len(pre) == 0 {
		return name, args
	}
	return pre[0], append(append(pre[1:], name), args...)
}

// killGrace is how long a cancelled Nix process group has between SIGTERM
// and SIGKILL: Nix removes its temporary build directories on SIGTERM.
const killGrace = 1500 * time.Millisecond

// command prepares name args under e: in its own process group (so that a
// cancellation reaches every process Nix started, and a terminal's ^C
// reaches nixgate only, which then stops the group), dying with nixgate
// (Pdeathsig: a SIGKILL of nixgate kills it too; with PIDNamespace, its
// sandboxed builders too), and on cancellation stopped group-wide with
// SIGTERM, then SIGKILL.
func command(ctx context.Context, e Exec, name string, args ...string) *exec.Cmd {
	prog, argv := e.wrapped(name, args)
	cmd := exec.CommandContext(ctx, prog, argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if len(e.Env) > 0 {
		cmd.Env = append(os.Environ(), e.Env...)
	}
	cmd.Cancel = func() error {
		pid := cmd.Process.Pid
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
			return err
		}
		go func() {
			time.Sleep(killGrace)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}()
		return nil
	}
	// After the group was told to stop, do not wait forever for a
	// grandchild holding stderr open.
	cmd.WaitDelay = 2 * killGrace
	return cmd
}

// CheckWrappers reports why e cannot be honoured on this machine, or nil:
// the tools it needs (unshare, taskset) and, for a time namespace, the
// privilege to create one.
func CheckWrappers(ctx context.Context, e Exec) error {
	if e.ClockShift != 0 || e.PIDNamespace {
		if _, err := exec.LookPath("unshare"); err != nil {
			return fmt.Errorf("unshare (util-linux) is not installed: %w", err)
		}
		cmd := command(ctx, Exec{ClockShift: e.ClockShift, PIDNamespace: e.PIDNamespace}, "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("unshare --time: %v: %s", err, lastLine(string(out)))
		}
	}
	if len(e.CPUs) > 0 {
		if _, err := exec.LookPath("taskset"); err != nil {
			return fmt.Errorf("taskset (util-linux) is not installed: %w", err)
		}
	}
	return nil
}

func lastLine(s string) string {
	return lastError(s)
}
