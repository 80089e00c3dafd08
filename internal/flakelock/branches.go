package flakelock

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/lazyre"
)

//go:embed branches.json
var branchesJSON []byte

// BranchData is the nixpkgs branch list shipped with nixgate.
type BranchData struct {
	SchemaVersion int       `json:"schemaVersion"`
	Updated       string    `json:"updated"`
	Source        string    `json:"source"`
	Rolling       []string  `json:"rolling"`
	Releases      []Release `json:"releases"`
}

// Release is one NixOS release and its support window.
type Release struct {
	Version  string `json:"version"` // "25.05"
	Released string `json:"released"`
	EOL      string `json:"eol"`
}

// Branches returns the shipped branch data.
func Branches() *BranchData {
	var d BranchData
	if err := json.Unmarshal(branchesJSON, &d); err != nil {
		panic(fmt.Sprintf("flakelock: embedded branches.json: %v", err)) // caught by tests
	}
	return &d
}

// BranchStatus is what a branch's support status is.
type BranchStatus string

// Statuses.
const (
	// Rolling branches (nixos-unstable, nixpkgs-unstable, master) always
	// get fixes.
	Rolling BranchStatus = "rolling"
	// Supported releases get security fixes.
	Supported BranchStatus = "supported"
	// Beta is a release branch before its release date.
	Beta BranchStatus = "beta"
	// EOL releases no longer get fixes.
	EOL BranchStatus = "eol"
	// Unknown names no release nor rolling branch of nixpkgs.
	Unknown BranchStatus = "unknown"
)

// releaseBranch matches the branch names of a release: nixos-25.05,
// nixos-25.05-small, nixpkgs-25.05-darwin, release-25.05.
var releaseBranch = lazyre.New(`^(?:nixos|nixpkgs|release)-([0-9]{2}\.[0-9]{2})(?:-small|-darwin|-aarch64)?$`)

// Status says what the data knows of a branch at time now. A release newer
// than every release the data lists counts as supported, so that an old
// nixgate does not fail a lock that moved to a new release.
func (d *BranchData) Status(branch string, now time.Time) (BranchStatus, string) {
	if slices.Contains(d.Rolling, branch) {
		return Rolling, "rolling branch"
	}
	m := releaseBranch().FindStringSubmatch(branch)
	if m == nil {
		return Unknown, "not a nixpkgs release or rolling branch"
	}
	ver := m[1]
	day := now.UTC().Format(time.DateOnly)
	for _, r := range d.Releases {
		if r.Version != ver {
			continue
		}
		switch {
		case day < r.Released:
			return Beta, "release branch before the " + r.Released + " release"
		case day > r.EOL:
			return EOL, "end of life since " + r.EOL
		}
		return Supported, "supported until " + r.EOL
	}
	latest := ""
	for _, r := range d.Releases {
		latest = max(latest, r.Version)
	}
	if ver > latest {
		return Supported, "newer than the releases nixgate knows (" + latest + ")"
	}
	return EOL, "not a supported release"
}

// ParseStatus reads a status name as written in a policy.
func ParseStatus(s string) (BranchStatus, error) {
	switch st := BranchStatus(strings.ToLower(s)); st {
	case Rolling, Supported, Beta, EOL, Unknown:
		return st, nil
	case "unsupported", "deprecated":
		return EOL, nil
	}
	return "", fmt.Errorf("unknown branch status %q (want supported, rolling, beta, eol or unsupported)", s)
}
