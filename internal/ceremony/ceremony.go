// Package ceremony keeps signing an offline ceremony: it refuses to sign
// inside a CI job, with a key file others can read, or without an operator
// at a terminal. `nixgate sign` and `nixgate uki sign` both go through
// Guard, so the refusal is the same everywhere.
package ceremony

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// CIVariables are the environment variables whose presence (with any
// non-empty value) marks a CI job. docs/provenance.md lists them.
var CIVariables = []string{
	"APPVEYOR",
	"BITBUCKET_BUILD_NUMBER",
	"BUILDKITE",
	"BUILD_ID", // Jenkins, and others that reuse the name
	"CI",
	"CIRCLECI",
	"CIRRUS_CI",
	"CODEBUILD_BUILD_ID",
	"CONTINUOUS_INTEGRATION",
	"DRONE",
	"GITHUB_ACTIONS",
	"GITLAB_CI",
	"GO_PIPELINE_NAME", // GoCD
	"JENKINS_URL",
	"NETLIFY",
	"SEMAPHORE",
	"TEAMCITY_VERSION",
	"TF_BUILD", // Azure Pipelines
	"TRAVIS",
	"WOODPECKER_CI",
}

// CIPrefixes are prefixes of environment variables that CI systems set
// (Hydra's and buildbot's build environments).
var CIPrefixes = []string{"HYDRA_", "BUILDBOT_"}

// CIMarker returns the name of the first CI marker set in environ (a list
// of NAME=VALUE, as os.Environ returns), or "" when there is none.
func CIMarker(environ []string) string {
	var found []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || value == "" {
			continue
		}
		if slices.Contains(CIVariables, name) {
			found = append(found, name)
			continue
		}
		for _, p := range CIPrefixes {
			if strings.HasPrefix(name, p) {
				found = append(found, name)
			}
		}
	}
	if len(found) == 0 {
		return ""
	}
	slices.Sort(found)
	return found[0]
}

// ErrRefused is wrapped by every refusal, so that a command maps it to its
// exit code (2) in one place.
var ErrRefused = errors.New("signing refused")

// Refusal says why signing must not happen here.
type Refusal struct {
	Reason string
	Hint   string
}

func (r *Refusal) Error() string { return "signing refused: " + r.Reason }

// Unwrap makes errors.Is(err, ErrRefused) hold.
func (r *Refusal) Unwrap() error { return ErrRefused }

// Conditions are the facts Guard decides on.
type Conditions struct {
	// Environ is the process environment (os.Environ()).
	Environ []string
	// Batch is --batch: no operator confirmation at a terminal.
	Batch bool
	// Interactive reports whether stdin is a terminal.
	Interactive bool
}

// Guard refuses to sign in a CI job, and without an operator at a terminal
// unless batch mode was asked for (which is still refused in CI).
func Guard(c Conditions) error {
	if m := CIMarker(c.Environ); m != "" {
		return &Refusal{
			Reason: fmt.Sprintf("the CI marker %s is set: CI may build but must not sign", m),
			Hint:   "sign on the offline signing machine, from the statement CI produced (see docs/provenance.md)",
		}
	}
	if !c.Batch && !c.Interactive {
		return &Refusal{
			Reason: "stdin is not a terminal: the ceremony needs an operator to confirm the digest",
			Hint:   "run it at a terminal, or pass --batch on the signing machine to skip the confirmation",
		}
	}
	return nil
}

// CheckKeyFile refuses a private key file that is not a regular file or
// that its group or others can read or write.
func CheckKeyFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// Follow one link, but judge the file it names.
		if fi, err = os.Stat(path); err != nil {
			return fmt.Errorf("key file: %w", err)
		}
	}
	if !fi.Mode().IsRegular() {
		return &Refusal{Reason: fmt.Sprintf("key file %s is not a regular file", path)}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &Refusal{
			Reason: fmt.Sprintf("key file %s has mode %04o: its group or others can read it", path, perm),
			Hint:   fmt.Sprintf("chmod 600 %s", path),
		}
	}
	return nil
}
