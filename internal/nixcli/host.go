package nixcli

// This file holds the host audit's uses of nix (nixgate host): the
// version, and the sandbox probe's add / build / cat. The rest of the
// package belongs to the rebuild engine.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// HostOptions are the store and the extra options of every host command.
type HostOptions struct {
	// Store is a store URI ("" for the default store).
	Store string
	// Options are `--option NAME VALUE` pairs, in order.
	Options [][2]string
}

func (o HostOptions) args() []string {
	var a []string
	if o.Store != "" {
		a = append(a, "--store", o.Store)
	}
	for _, kv := range o.Options {
		a = append(a, "--option", kv[0], kv[1])
	}
	return a
}

// hostRun runs a nix tool and returns its stdout; an error carries the
// tool's stderr.
func hostRun(ctx context.Context, name string, args ...string) (string, error) {
	cmd := command(ctx, Exec{}, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), msg)
	}
	return stdout.String(), nil
}

// HostNixVersion returns the output of `nix --version`.
func HostNixVersion(ctx context.Context) (string, error) {
	return hostRun(ctx, "nix", "--version")
}

// ProbeAdd adds a file to the store (`nix-store --add`) and returns its
// store path.
func ProbeAdd(ctx context.Context, o HostOptions, file string) (string, error) {
	out, err := hostRun(ctx, "nix-store", append(o.args(), "--add", file)...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// ProbeBuild builds a Nix expression locally (no remote builders) without
// a GC root and returns its output path.
func ProbeBuild(ctx context.Context, o HostOptions, expr string) (string, error) {
	args := append([]string{"--no-out-link", "--option", "builders", ""}, o.args()...)
	out, err := hostRun(ctx, "nix-build", append(args, "-E", expr)...)
	if err != nil {
		return "", err
	}
	lines := strings.Fields(out)
	if len(lines) == 0 {
		return "", fmt.Errorf("nix-build printed no output path")
	}
	return lines[len(lines)-1], nil
}

// ProbeCat reads a file from the store (`nix store cat`), which works for
// every store type, chroot stores included.
func ProbeCat(ctx context.Context, o HostOptions, path string) ([]byte, error) {
	args := append([]string{"--extra-experimental-features", "nix-command", "store", "cat"}, o.args()...)
	out, err := hostRun(ctx, "nix", append(args, path)...)
	return []byte(out), err
}

// ProbeDelete removes a path nixgate added to the store (`nix-store
// --delete`); it fails when something still refers to the path.
func ProbeDelete(ctx context.Context, o HostOptions, path string) error {
	_, err := hostRun(ctx, "nix-store", append(o.args(), "--delete", path)...)
	return err
}
