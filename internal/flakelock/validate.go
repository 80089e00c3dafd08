package flakelock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// NixSource is the Nix revision whose fetchers the rules below follow;
// comments cite its files as path:line.
const NixSource = "NixOS/nix@88b09c64fbea076a0376830d98e5331f70ed31a3"

// scheme is what Nix's input scheme of one type allows and requires.
type scheme struct {
	// allowed attributes besides "type", "__final" (fetchers.cc:108) and
	// "dir" (flakeref.cc:277, stripped before the scheme sees it).
	allowed []string
	// required string attributes.
	required []string
	bools    []string
}

// schemes are Nix's registered input schemes by type name; any other type
// is an input without a scheme, never locked (fetchers.cc:99-101, 162-165).
var schemes = map[string]scheme{
	// src/libfetchers/github.cc:85-121 (GitArchiveInputScheme, shared by
	// github, gitlab and sourcehut), required at github.cc:126-127.
	"github":    forge,
	"gitlab":    forge,
	"sourcehut": forge,
	// src/libfetchers/git.cc:214 (allowedAttrs), url required at git.cc:398.
	"git": {
		allowed: []string{"url", "ref", "rev", "shallow", "submodules", "lfs", "exportIgnore", "lastModified",
			"revCount", "narHash", "allRefs", "name", "dirtyRev", "dirtyShortRev", "verifyCommit", "keytype",
			"publicKey", "publicKeys"},
		required: []string{"url"},
		bools:    []string{"shallow", "submodules", "lfs", "exportIgnore", "allRefs", "verifyCommit"},
	},
	// src/libfetchers/mercurial.cc:78 (allowedAttrs), url at mercurial.cc:111.
	// The type is "hg" (mercurial.cc:69): "mercurial" is no scheme.
	"hg": {allowed: []string{"url", "ref", "rev", "revCount", "narHash", "name"}, required: []string{"url"}},
	// src/libfetchers/tarball.cc:296-367 (CurlInputScheme, shared by file
	// and tarball).
	"tarball": curl,
	"file":    curl,
	// src/libfetchers/path.cc:49-79, path required at path.cc:83.
	"path": {allowed: []string{"path", "rev", "revCount", "lastModified", "narHash"}, required: []string{"path"}},
	// src/libfetchers/indirect.cc:69-89, id at indirect.cc:94.
	"indirect": {allowed: []string{"id", "ref", "rev", "narHash"}, required: []string{"id"}},
}

var (
	forge = scheme{allowed: []string{"owner", "repo", "ref", "rev", "narHash", "lastModified", "host", "treeHash"},
		required: []string{"owner", "repo"}}
	curl = scheme{allowed: []string{"url", "narHash", "name", "unpack", "rev", "revCount", "lastModified"},
		required: []string{"url"}, bools: []string{"unpack"}}
)

var (
	// github.cc:25: hostRegexS.
	forgeHost = lazyre.New(`^[a-zA-Z0-9.-]*$`)
	// flakeref.hh:123: flakeIdRegexS, checked at indirect.cc:96.
	flakeID = lazyre.New(`^[a-zA-Z][a-zA-Z0-9_-]*$`)
	// url-parts.hh:19: refRegexS, checked for hg at mercurial.cc:114.
	hgRef = lazyre.New(`^[a-zA-Z0-9@][a-zA-Z0-9_.\/@+-]*$`)
)

// validate applies the checks Nix makes while reading a lock entry
// (Input::fromAttrs, each scheme's inputFromAttrs, and what isLocked parses
// at lockfile.cc:72). locked is true for the "locked" reference.
func (r *Ref) validate(locked bool) error {
	if _, ok := r.Attrs["__final"]; ok && locked {
		// lockfile.cc:85: assert(!lockedRef.input.attrs.contains("__final")).
		return fmt.Errorf(`attribute "__final" is not allowed in a lock file (Nix aborts on it: lockfile.cc:85)`)
	}
	s, known := schemes[r.Type]
	if !known {
		return nil // an input without a scheme: read, never locked
	}
	for name, v := range r.Attrs {
		if name == "type" || name == "__final" || name == "dir" {
			continue
		}
		if !slices.Contains(s.allowed, name) {
			// fetchers.cc:108-109
			return fmt.Errorf("attribute %q is not supported by input type %q", name, r.Type)
		}
		if slices.Contains(s.bools, name) {
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("attribute %q is not a Boolean", name) // attrs.cc:110
			}
		}
		switch name {
		case "url", "path", "id", "owner", "repo", "ref", "rev", "host", "narHash", "name", "treeHash", "dirtyRev", "dirtyShortRev", "keytype", "publicKey", "publicKeys":
			if _, ok := v.(string); !ok {
				return fmt.Errorf("attribute %q is not a string", name) // attrs.cc:72
			}
		}
	}
	for _, a := range s.required {
		if _, ok := r.Attrs[a]; !ok {
			return fmt.Errorf("attribute %q is missing (input type %q requires it)", a, r.Type)
		}
	}
	_, hasRev := r.Attrs["rev"]
	_, hasRef := r.Attrs["ref"]
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		if hasRef && hasRev {
			// github.cc:131-136
			return fmt.Errorf("input has both a commit hash (%q) and a branch/tag name (%q)", r.Rev, r.Ref)
		}
		if hasRev {
			if err := checkRev(r.Rev); err != nil { // github.cc:138-139
				return err
			}
		}
		if hasRef && !legalRefName(r.Ref) { // github.cc:141-142
			return fmt.Errorf("invalid branch/tag name %q", r.Ref)
		}
		if !forgeHost().MatchString(r.Host) { // github.cc:144-145
			return fmt.Errorf("invalid instance host %q", r.Host)
		}
	case "git":
		if hasRef && !legalRefName(r.Ref) { // git.cc:393-394
			return fmt.Errorf("invalid Git branch/tag name %q", r.Ref)
		}
		if hasRev && locked { // isLocked parses it: git.cc:1128, fetchers.cc:449-458
			if err := checkRev(r.Rev); err != nil {
				return err
			}
		}
	case "hg":
		if hasRef && !hgRef().MatchString(r.Ref) { // mercurial.cc:113-115
			return fmt.Errorf("invalid Mercurial branch/tag name %q", r.Ref)
		}
		if hasRev && locked { // mercurial.cc:412, fetchers.cc:449-458
			if err := checkRev(r.Rev); err != nil {
				return err
			}
		}
	case "indirect":
		if !flakeID().MatchString(r.ID) { // indirect.cc:95-96
			return fmt.Errorf("%q is not a valid flake ID", r.ID)
		}
	}
	if _, ok := r.Attrs["narHash"]; ok && r.NarHash != "" {
		// fetchers.cc:429-436: a SHA-256 hash (read by isLocked for
		// tarball, file and path; by every fetch for the others). Older
		// Nix wrote other encodings: all decode to the same hash.
		h, err := ParseHash(r.NarHash, "sha256")
		if err != nil {
			return fmt.Errorf("narHash: %v", err)
		}
		if h.Algo != "sha256" {
			return fmt.Errorf("narHash %q must use SHA-256", r.NarHash) // fetchers.cc:433-434
		}
	}
	return nil
}

// checkRev parses a rev as Input::getRev does (fetchers.cc:449-458): a
// prefixed hash ("sha1:…", "sha256-…"), else a SHA-1 in base-16, base-32 or
// base-64 (told by its length). A shortened commit hash is refused.
func checkRev(rev string) error {
	if h, err := ParseHash(rev, "sha1"); err != nil || (h.Algo != "sha1" && h.Algo != "sha256") {
		if strings.Trim(rev, "0123456789abcdefABCDEF") == "" && len(rev) < 40 {
			return fmt.Errorf("rev %q is a shortened commit hash (Nix requires the full 40 hex digits)", rev)
		}
		return fmt.Errorf("rev %q is not a commit hash", rev)
	}
	return nil
}

// legalRefName follows git's check-ref-format rules as libgit2 applies them
// for isLegalRefName (git-utils.cc:1645-1672): a full reference, a branch
// or a tag name.
func legalRefName(s string) bool {
	if s == "" || s == "@" || strings.ContainsRune(s, '\177') {
		return false
	}
	if strings.Contains(s, "..") || strings.Contains(s, "@{") || strings.Contains(s, "//") ||
		strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") || strings.HasPrefix(s, "-") {
		return false
	}
	for _, c := range s {
		if c < 0x20 || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, comp := range strings.Split(s, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	return true
}

// IsRelative reports a path input with a relative path (path.cc:117-123):
// Nix writes them for subflakes of the same repository (Nix 2.26 and
// later) and never requires them to be locked (lockfile.cc:72).
func (r *Ref) IsRelative() bool {
	return r != nil && r.Type == "path" && !strings.HasPrefix(r.Path, "/")
}

// Locked reports whether a locked reference is locked by Nix's own rules,
// input type by input type (the isLocked of each scheme, with Nix's default
// settings). When not locked, why says what is missing.
//
//   - github, gitlab, sourcehut: a rev (github.cc:349-356; without a
//     narHash Nix trusts the forge's tarball, trust-tarballs-from-git-forges
//     being on by default: fetch-settings.hh:103-106)
//   - git: a rev other than the all-zero one (git.cc:1126-1130)
//   - hg: a rev (mercurial.cc:410-413; any rev, the all-zero one included)
//   - tarball, file: a narHash (tarball.cc:394-397)
//   - path: a narHash (path.cc:126-129); a relative path needs none
//     (path.cc:117-123, lockfile.cc:72)
//   - indirect: never (InputScheme::isLocked, fetchers.hh:260-263)
//   - any other type: never (fetchers.cc:162-165)
func (r *Ref) Locked() (ok bool, why string) {
	if r == nil {
		return false, "no locked reference"
	}
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		if r.Rev == "" {
			return false, r.Type + " input without rev"
		}
		return true, ""
	case "git":
		if r.Rev == "" {
			return false, "git input without rev"
		}
		if r.Rev == nullRev {
			return false, "git input with the all-zero rev of a dirty work tree"
		}
		return true, ""
	case "hg":
		if r.Rev == "" {
			return false, "hg input without rev"
		}
		return true, ""
	case "tarball", "file":
		if _, ok := r.Attrs["narHash"]; !ok {
			return false, r.Type + " input without narHash"
		}
		return true, ""
	case "path":
		if r.IsRelative() {
			return true, ""
		}
		if _, ok := r.Attrs["narHash"]; !ok {
			return false, "path input without narHash"
		}
		return true, ""
	case "indirect":
		return false, "indirect (registry) reference, resolved on each machine"
	case "mercurial":
		return false, `unknown input type "mercurial" (Nix's Mercurial type is "hg")`
	}
	return false, fmt.Sprintf("unknown input type %q", r.Type)
}

// NixRefuses reports an unlocked entry Nix refuses to read without
// --allow-dirty-locks: unlocked, not relative and without a narHash
// (lockfile.cc:72-82; with a narHash Nix only warns).
func (r *Ref) NixRefuses() bool {
	if ok, _ := r.Locked(); ok {
		return false
	}
	_, has := r.Attrs["narHash"]
	return !has
}

// lockedWarning is Nix's warning for an unlocked entry checked by narHash
// (lockfile.cc:73-77).
func lockedWarning(n *Node) string {
	if ok, _ := n.Locked.Locked(); ok || n.Locked.NixRefuses() {
		return ""
	}
	return fmt.Sprintf("lock file entry %q is unlocked but checked by NAR hash: not reproducible, breaks after garbage collection or when shared", n.Key)
}
