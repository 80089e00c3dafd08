package secrets

import (
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// growPipe asks for a 1 MiB pipe buffer (Linux's F_SETPIPE_SZ): git's
// output then arrives in fewer, larger reads, with fewer context switches
// between git and the scan. Failure leaves the default size. The file
// stays non-blocking (File.Fd would make it blocking): a read that waits
// parks its goroutine on the poller instead of holding a thread in the
// kernel, which costs the Go scheduler a thread hand-off per wait
// (home-manager, 100 commits: 6% of the CPU; devenv's whole history: 19%).
func growPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	if c, err := f.SyscallConn(); err == nil {
		c.Control(setPipeSize)
	}
}

// setPipeSize asks for a 1 MiB buffer for the pipe fd (F_SETPIPE_SZ);
// failure leaves the default size.
func setPipeSize(fd uintptr) {
	const fSetPipeSz = 1031
	syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 1<<20)
}

// startReading starts cmd with its standard output on a pipe that Go's
// poller does not watch, and returns the pipe's read end (1 MiB of
// buffer). A read that finds the pipe empty sleeps pollSleep in the
// kernel and tries again, until ctx is done.
//
// This is for git cat-file, which writes each blob in three writes
// (header, content, newline) and is the slower end. A pipe the poller has
// watched wakes the poller on every write, not only on the first into an
// empty pipe, and each wake-up of a sleeping thread costs both sides CPU
// (on this VM, an interrupt to the other CPU): with the poller,
// home-manager's last 100 commits cost 37.4 ms of wall time and 51.9 ms
// of CPU, devenv's (61 MB of blobs) 132.0 and 203.3 ms; read this way
// (interleaved, 21 and 15 rounds), 34.6 / 49.2 ms and 124.5 / 185.3 ms,
// devenv's whole history 1.52 -> 1.39 s (2.45 -> 2.22 s CPU), a
// three-commit range 14.5 -> 14.6 ms. The sleep is nanosleep, not
// time.Sleep: Go's timers wake an otherwise idle process only to the
// millisecond (20-200 us sleeps took 1.1 ms here), and a reader that late
// leaves git waiting on a full pipe (wall time unchanged). 100 us gave
// 125.6 ms on devenv, 400 us 129.6 ms.
func startReading(ctx context.Context, cmd *exec.Cmd) (io.ReadCloser, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, err
	}
	// Only the read end is non-blocking: git writes to a blocking pipe.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, err
	}
	setPipeSize(uintptr(fds[0]))
	w := os.NewFile(uintptr(fds[1]), "|1")
	cmd.Stdout = w
	err := cmd.Start()
	w.Close()
	if err != nil {
		syscall.Close(fds[0])
		return nil, err
	}
	return &polledPipe{fd: fds[0], ctx: ctx}, nil
}

// pollSleep is how long a read of an empty polledPipe waits before it
// tries again; pollSleepLong, and five times it, the waits once the pipe
// has stayed empty a while (polledPipe.Read).
const (
	pollSleep     = 200 * time.Microsecond
	pollSleepLong = time.Millisecond
)

type polledPipe struct {
	fd     int
	ctx    context.Context
	closed bool
}

func (p *polledPipe) Read(b []byte) (int, error) {
	if p.closed {
		return 0, os.ErrClosed
	}
	for waits := 0; ; {
		n, err := syscall.Read(p.fd, b)
		switch {
		case err == syscall.EAGAIN:
			if err := p.ctx.Err(); err != nil {
				return 0, err
			}
			// A long wait (git inflating a large blob) is polled less
			// often: each 1 ms past the first 1.6 ms, each 5 ms past the
			// first 0.1 s. Polled each 200 us, a 2 s wait took 305 ms of
			// CPU; so, 22-27 ms.
			d := pollSleep
			switch waits++; {
			case waits > 100:
				d = 5 * pollSleepLong
			case waits > 8:
				d = pollSleepLong
			}
			ts := syscall.NsecToTimespec(int64(d))
			syscall.Nanosleep(&ts, nil)
		case err == syscall.EINTR:
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		default:
			return n, nil
		}
	}
}

// Close closes the read end; a second call does nothing.
func (p *polledPipe) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	return syscall.Close(p.fd)
}
