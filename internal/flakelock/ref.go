package flakelock

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// nullRev is the all-zero revision Nix uses for a dirty work tree.
const nullRev = "0000000000000000000000000000000000000000"

// String renders the reference as a flake URL, the way Nix prints it in
// lock update messages.
func (r *Ref) String() string {
	if r == nil {
		return ""
	}
	q := url.Values{}
	add := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	narHash := r.NarHash
	if h, err := ParseHash(narHash, "sha256"); err == nil {
		narHash = h.SRI() // as Nix prints it (Input::toURL)
	}
	var s string
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		s = r.Type + ":" + r.Owner + "/" + r.Repo
		switch {
		case r.Rev != "":
			s += "/" + r.Rev
		case r.Ref != "":
			s += "/" + r.Ref
		}
		add("host", r.Host)
		add("narHash", narHash)
	case "git", "mercurial", "hg":
		u := r.URL
		scheme := "git"
		if r.Type != "git" {
			scheme = "hg"
		}
		if strings.HasPrefix(u, "file:") {
			u = scheme + "+" + u
		} else if !strings.HasPrefix(u, scheme+"+") {
			u = scheme + "+" + u
		}
		s = u
		add("ref", r.Ref)
		add("rev", r.Rev)
		for _, k := range []string{"shallow", "submodules", "lfs", "exportIgnore", "allRefs"} {
			if v, ok := r.Attrs[k].(bool); ok && v {
				q.Set(k, "1")
			}
		}
	case "tarball", "file":
		s = r.URL
		add("narHash", narHash)
	case "path":
		s = "path:" + r.Path
		for _, k := range []string{"lastModified", "narHash", "rev", "revCount"} {
			if v, ok := r.Attrs[k]; ok {
				q.Set(k, attrString(v))
			}
		}
	case "indirect":
		s = "flake:" + r.ID
		if r.Ref != "" {
			s += "/" + r.Ref
		}
		if r.Rev != "" {
			s += "/" + r.Rev
		}
	default:
		s = r.Type + ":"
		keys := make([]string, 0, len(r.Attrs))
		for k := range r.Attrs {
			if k != "type" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			q.Set(k, attrString(r.Attrs[k]))
		}
	}
	add("dir", r.Dir)
	if len(q) == 0 {
		return s
	}
	sep := "?"
	if strings.Contains(s, "?") {
		sep = "&"
	}
	return s + sep + encodeQuery(q)
}

// encodeQuery encodes a query as Nix does: keys sorted, everything but
// unreserved characters and ":@/?" percent-encoded.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(percentEncode(k))
		b.WriteByte('=')
		b.WriteString(percentEncode(q.Get(k)))
	}
	return b.String()
}

func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:@/?", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func attrString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// Source identifies where a reference fetches from, for comparing two
// references: "github.com/nixos/nixpkgs", "git.lix.systems/lix-project/lix",
// "https://codeberg.org/x.tar.gz" (URL inputs by host and path), "path:/x".
// Owners and repositories compare case-insensitively as the forges do.
func (r *Ref) Source() string {
	if r == nil {
		return ""
	}
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		host := r.Host
		if host == "" {
			host = map[string]string{"github": "github.com", "gitlab": "gitlab.com", "sourcehut": "git.sr.ht"}[r.Type]
		}
		return strings.ToLower(host + "/" + r.Owner + "/" + r.Repo)
	case "git", "mercurial", "hg", "tarball", "file":
		u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(r.URL, "git+"), "hg+"))
		if err != nil || u.Host == "" {
			return r.URL
		}
		return strings.ToLower(u.Host + strings.TrimSuffix(u.Path, ".git"))
	case "path":
		return "path:" + r.Path
	case "indirect":
		return "flake:" + r.ID
	}
	return r.String()
}

// Host returns the host a reference fetches from ("" for local inputs).
func (r *Ref) HostName() string {
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		s := r.Source()
		return s[:strings.IndexByte(s, '/')]
	case "git", "mercurial", "hg", "tarball", "file":
		u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(r.URL, "git+"), "hg+"))
		if err != nil {
			return ""
		}
		return strings.ToLower(u.Hostname())
	}
	return ""
}

// OwnerName returns "host/owner" for forge inputs and URL inputs whose path
// names an owner (github.com/NixOS/nixpkgs.git), lower-cased; "" when there
// is none.
func (r *Ref) OwnerName() string {
	s := r.Source()
	if r.Type == "path" || r.Type == "indirect" || !strings.Contains(s, "/") {
		return ""
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[1] == "" {
		return parts[0]
	}
	return parts[0] + "/" + parts[1]
}

// Transport returns the URL scheme a reference is fetched with ("https",
// "http", "git", "ssh", "file"), "" for forge and path inputs.
func (r *Ref) Transport() string {
	switch r.Type {
	case "git", "mercurial", "hg", "tarball", "file":
		u := strings.TrimPrefix(strings.TrimPrefix(r.URL, "git+"), "hg+")
		if i := strings.Index(u, ":"); i > 0 {
			return strings.ToLower(u[:i])
		}
	}
	return ""
}

// Insecure reports a transport without integrity or confidentiality:
// http:// (tarball, file, git+http) and git:// (the unauthenticated git
// protocol).
func (r *Ref) Insecure() bool {
	switch r.Transport() {
	case "http", "git":
		return true
	}
	return false
}

// LocalPath returns the filesystem path of a path input or a git or
// mercurial input with a file: URL.
func (r *Ref) LocalPath() (string, bool) {
	switch r.Type {
	case "path":
		return r.Path, true
	case "git", "mercurial", "hg":
		if r.Transport() == "file" {
			u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(r.URL, "git+"), "hg+"))
			if err != nil {
				return strings.TrimPrefix(r.URL, "file:"), true
			}
			if u.Path != "" {
				return u.Path, true
			}
			return u.Opaque, true
		}
	}
	return "", false
}

var (
	hexRev     = lazyre.New(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)
	hexRevPart = lazyre.New(`[0-9a-f]{40}`)
)

// MutableURL reports whether a tarball or file URL names something that
// moves: a channel (channels.nixos.org/<channel>/nixexprs.tar.xz,
// nixos.org/channels/...), a branch archive (archive/<branch>.tar.gz,
// tarball/<branch>), an unpinned FlakeHub version range, or a "latest"
// link. URLs carrying a full commit hash, releases.nixos.org release
// directories and api.flakehub.com/f/pinned are immutable.
func MutableURL(raw string) (bool, string) {
	u, err := url.Parse(raw)
	if err != nil {
		return false, ""
	}
	host := strings.ToLower(u.Hostname())
	p := u.Path
	switch {
	case hexRevPart().MatchString(p) || hexRevPart().MatchString(u.RawQuery):
		return false, ""
	case host == "releases.nixos.org":
		return false, ""
	case host == "channels.nixos.org" || host == "channels.nix.gsc.io":
		return true, "a NixOS channel URL follows the channel"
	case (host == "nixos.org" || host == "www.nixos.org") && strings.HasPrefix(p, "/channels/"):
		return true, "a NixOS channel URL follows the channel"
	case host == "api.flakehub.com" && strings.HasPrefix(p, "/f/pinned/"):
		return false, ""
	case host == "flakehub.com" || host == "api.flakehub.com":
		return true, "a FlakeHub version range resolves to the newest matching release"
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		if (s == "archive" || s == "tarball" || s == "zipball") && i+1 < len(segs) {
			name := trimArchiveExt(segs[i+1])
			if !hexRev().MatchString(name) {
				if isVersionTag(name) {
					return true, fmt.Sprintf("archive of tag %q: a tag can be moved", name)
				}
				return true, fmt.Sprintf("archive of branch %q follows the branch", name)
			}
		}
	}
	switch last := trimArchiveExt(segs[len(segs)-1]); last {
	case "latest", "master", "main", "nixexprs", "head", "HEAD":
		return true, fmt.Sprintf("%q is a moving name", segs[len(segs)-1])
	}
	return false, ""
}

func trimArchiveExt(s string) string {
	for _, ext := range []string{".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".zip", ".tar"} {
		if strings.HasSuffix(s, ext) {
			return strings.TrimSuffix(s, ext)
		}
	}
	return s
}

var versionTag = lazyre.New(`^v?[0-9]+(\.[0-9]+)*([-.+][0-9A-Za-z.]+)?$`)

func isVersionTag(s string) bool { return versionTag().MatchString(s) }

// nixpkgsURL matches URLs that fetch NixOS/nixpkgs.
var nixpkgsURL = lazyre.New(`(?i)^(git\+)?https?://(` +
	`(www\.)?github\.com/nixos/nixpkgs([./?#]|$)|` +
	`codeload\.github\.com/nixos/nixpkgs/|` +
	`(api\.)?flakehub\.com/f/(pinned/)?nixos/nixpkgs/|` +
	`channels\.nixos\.org/|releases\.nixos\.org/(nixos|nixpkgs)/|` +
	`(www\.)?nixos\.org/channels/)`)

// IsNixpkgs reports whether a reference fetches upstream NixOS/nixpkgs:
// github.com/NixOS/nixpkgs as a forge input, a git URL or an archive, the
// channel and release tarballs of nixos.org, FlakeHub's NixOS/nixpkgs, or
// a registry lookup of "nixpkgs".
func (r *Ref) IsNixpkgs() bool {
	if r == nil {
		return false
	}
	switch r.Type {
	case "github":
		return strings.EqualFold(r.Owner, "nixos") && strings.EqualFold(r.Repo, "nixpkgs") && (r.Host == "" || strings.EqualFold(r.Host, "github.com"))
	case "git", "tarball", "file":
		return nixpkgsURL().MatchString(r.URL)
	case "indirect":
		return r.ID == "nixpkgs"
	}
	return false
}

// IsNixpkgsRepo reports whether a reference fetches a repository named
// nixpkgs, whoever owns it and wherever it is hosted: upstream, a fork
// (github:someone/nixpkgs) or a mirror (gitlab:nixos/nixpkgs).
func (r *Ref) IsNixpkgsRepo() bool {
	if r == nil {
		return false
	}
	if r.IsNixpkgs() {
		return true
	}
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		return strings.EqualFold(r.Repo, "nixpkgs")
	case "git", "hg", "tarball", "file":
		src := urlSource(r.URL)
		return strings.Count(src, "/") >= 2 && strings.EqualFold(path.Base(src), "nixpkgs")
	}
	return false
}

// IsNixpkgs reports whether a node fetches upstream NixOS/nixpkgs: its
// locked reference does (what Nix fetches).
func (n *Node) IsNixpkgs() bool { return n.Locked.IsNixpkgs() }

// NixpkgsLike reports whether a node is nixpkgs for the nixpkgs rules:
// its locked or original reference fetches a repository named nixpkgs
// (upstream, a fork or a mirror), or the original is the registry's
// "nixpkgs".
func (n *Node) NixpkgsLike() bool {
	return n.Locked.IsNixpkgsRepo() || n.Original.IsNixpkgsRepo()
}

// releaseFromURL reads a nixpkgs branch from a channel or FlakeHub URL.
var (
	channelPath  = lazyre.New(`(?i)/(nixos|nixpkgs)-(unstable(-small)?|[0-9]{2}\.[0-9]{2}(-small|-darwin)?)(/|$)`)
	releasesPath = lazyre.New(`(?i)releases\.nixos\.org/(nixos|nixpkgs)/([0-9]{2}\.[0-9]{2}(-small|-darwin)?|unstable(-small)?)/`)
	flakehubVer  = lazyre.New(`(?i)flakehub\.com/f/(?:pinned/)?nixos/nixpkgs/0\.(1|[0-9]{4})(?:[.*/%]|$)`)
	archiveRef   = lazyre.New(`(?i)github\.com/nixos/nixpkgs/(?:archive|tarball)/([^/?#]+?)(?:\.tar\.gz|\.zip)?(?:[?#]|$)`)
)

// Branch returns the nixpkgs branch a node tracks, from its original
// reference ("nixos-25.05", "nixpkgs-unstable"), or "" when it names none
// (a bare github:NixOS/nixpkgs tracks the default branch, reported as
// "master" when known to be nixpkgs).
func (n *Node) Branch() string {
	o := n.Original
	if o == nil {
		return ""
	}
	switch o.Type {
	case "github", "gitlab", "sourcehut", "git", "hg", "mercurial", "indirect":
		if o.Ref != "" {
			return strings.TrimPrefix(o.Ref, "refs/heads/")
		}
		if o.Rev != "" {
			return ""
		}
		if o.Type == "indirect" {
			return "" // the registry decides
		}
		if n.NixpkgsLike() {
			return "master"
		}
		return ""
	case "tarball", "file":
		if b := branchFromURL(o.URL); b != "" {
			return b
		}
		if n.Locked != nil && (n.Locked.Type == "tarball" || n.Locked.Type == "file") {
			return branchFromURL(n.Locked.URL) // a version range resolved by the server
		}
	}
	return ""
}

func branchFromURL(u string) string {
	if m := channelPath().FindStringSubmatch(u); m != nil {
		return strings.ToLower(m[1] + "-" + m[2])
	}
	if m := releasesPath().FindStringSubmatch(u); m != nil {
		return strings.ToLower(m[1] + "-" + m[2])
	}
	if m := flakehubVer().FindStringSubmatch(u); m != nil {
		if m[1] == "1" {
			return "nixpkgs-unstable"
		}
		return "nixos-" + m[1][:2] + "." + m[1][2:]
	}
	if m := archiveRef().FindStringSubmatch(u); m != nil && !hexRev().MatchString(m[1]) {
		return path.Base(m[1])
	}
	return ""
}

// Source identifies where a node fetches from, ignoring the branch or
// version it tracks: its original reference unless that is a registry
// lookup (then the locked one). Forge inputs give "github.com/owner/repo"
// (lower-cased); branch archives and channel URLs drop the branch
// ("github.com/owner/repo" for .../archive/main.tar.gz,
// "flakehub.com/owner/repo" for FlakeHub, "channels.nixos.org").
func (n *Node) Source() string {
	r := n.Original
	if r == nil || r.Type == "indirect" {
		r = n.Locked
	}
	if r == nil {
		return ""
	}
	switch r.Type {
	case "tarball", "file", "git", "mercurial", "hg":
		return urlSource(r.URL)
	}
	return r.Source()
}

var flakehubPath = lazyre.New(`(?i)^/f/(?:pinned/)?([^/]+)/([^/]+)`)

func urlSource(raw string) string {
	u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(raw, "git+"), "hg+"))
	if err != nil || u.Host == "" {
		return raw
	}
	host := strings.ToLower(u.Hostname())
	p := u.Path
	switch {
	case host == "flakehub.com" || host == "api.flakehub.com":
		if m := flakehubPath().FindStringSubmatch(p); m != nil {
			return strings.ToLower("flakehub.com/" + m[1] + "/" + m[2])
		}
	case host == "channels.nixos.org" || host == "releases.nixos.org" || host == "nixos.org":
		return "nixos.org/channels"
	}
	for _, cut := range []string{"/-/archive/", "/archive/", "/tarball/", "/zipball/"} {
		if i := strings.Index(p, cut); i >= 0 {
			p = p[:i]
			break
		}
	}
	p = strings.TrimPrefix(p, "/api/v1/repos") // Gitea/Forgejo archive API
	return host + strings.ToLower(strings.TrimSuffix(p, ".git"))
}

// RefName is the branch, tag or version a node's original reference tracks
// ("nixos-25.05", "refs/heads/main", "0.2505.*"), or "" when it names none.
func (n *Node) RefName() string {
	o := n.Original
	if o == nil {
		return ""
	}
	switch o.Type {
	case "tarball", "file":
		if b := branchFromURL(o.URL); b != "" {
			return b
		}
		u, err := url.Parse(o.URL)
		if err != nil {
			return ""
		}
		for _, cut := range []string{"/archive/", "/tarball/", "/zipball/"} {
			if i := strings.Index(u.Path, cut); i >= 0 {
				return trimArchiveExt(u.Path[i+len(cut):])
			}
		}
		if m := flakehubPath().FindStringIndex(u.Path); m != nil {
			return strings.Trim(trimArchiveExt(u.Path[m[1]:]), "/")
		}
		return ""
	}
	return o.Ref
}
