//go:build !linux

package secrets

import (
	"context"
	"io"
	"os/exec"
)

func growPipe(io.Reader) {}

// startReading starts cmd with its standard output on a pipe and returns
// the pipe's read end.
func startReading(_ context.Context, cmd *exec.Cmd) (io.ReadCloser, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return out, nil
}
