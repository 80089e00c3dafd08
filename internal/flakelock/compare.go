package flakelock

import (
	"net/url"
	"strings"
)

// DisplayFollows renders a follows path as Nix prints it, shortened in the
// middle when very deep.
func DisplayFollows(p []string) string { return displayFollows(p) }

// LockedSource identifies where the locked reference fetches from — what
// Nix fetches — ignoring the revision: "github.com/nixos/nixpkgs" for forge
// inputs and git URLs of them, the repository of archive and FlakeHub URLs
// ("codeberg.org/owner/repo", "flakehub.com/owner/repo"),
// "nixos.org/channels" for channel and release tarballs, the URL (host and
// path, lower-cased) for other git and hg inputs, "path:<dir>" for paths
// (a store path as "path:/nix/store").
func (n *Node) LockedSource() string { return refSource(n.Locked) }

// OriginalSource is LockedSource for the original reference ("" for a
// registry lookup: the registry decides).
func (n *Node) OriginalSource() string {
	if n.Original == nil || n.Original.Type == "indirect" {
		return ""
	}
	return refSource(n.Original)
}

func refSource(r *Ref) string {
	if r == nil {
		return ""
	}
	switch r.Type {
	case "tarball", "file", "git", "hg", "mercurial":
		return urlSource(r.URL)
	case "path":
		if strings.HasPrefix(r.Path, "/nix/store/") {
			return "path:/nix/store"
		}
	}
	return r.Source()
}

// Owner returns "host/owner" of a source ("github.com/nixos"), or the whole
// source when it has no owner part.
func Owner(source string) string {
	parts := strings.SplitN(source, "/", 3)
	if len(parts) >= 2 && !strings.HasPrefix(source, "path:") {
		return parts[0] + "/" + parts[1]
	}
	return source
}

// registrable returns the last two labels of a host: flakehub.com for
// api.flakehub.com, nixos.org for channels.nixos.org.
func registrable(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) <= 2 {
		return host
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// Difference is one way a locked reference differs from its original.
type Difference struct {
	// What: "type", "owner", "repository", "host", "url", "ref", "rev" or
	// "dir".
	What          string
	Original, Got string
}

// Mismatch compares the locked reference of a node (what Nix fetches) with
// its original (what flake.nix asks for). Nix itself only ever locks an
// original to the same source: the same forge repository, the same git URL
// on the branch asked for, the same directory; a tarball server may answer
// with an immutable URL on its own site (FlakeHub's api.flakehub.com,
// channels.nixos.org's releases.nixos.org, Codeberg's archive API). Any
// other difference was written by hand. Registry lookups, relative paths
// and store paths are not compared.
func (n *Node) Mismatch() []Difference {
	o, l := n.Original, n.Locked
	if o == nil || l == nil || o.Type == "indirect" || l.IsRelative() {
		return nil
	}
	var out []Difference
	add := func(what, a, b string) { out = append(out, Difference{what, a, b}) }
	if o.Dir != l.Dir {
		add("dir", orNone(o.Dir), orNone(l.Dir))
	}
	if o.Rev != "" && l.Rev != "" && !strings.EqualFold(o.Rev, l.Rev) {
		add("rev", o.Rev, l.Rev)
	}
	if o.Type != l.Type {
		// Nix locks an input with its own scheme (a tarball's Link header
		// may only lead to a tarball: tarball.cc:500-501).
		add("type", o.Type, l.Type)
		return append(out, sourceDiff(o, l)...)
	}
	switch o.Type {
	case "github", "gitlab", "sourcehut":
		if !strings.EqualFold(o.Owner, l.Owner) {
			add("owner", o.Owner, l.Owner)
		}
		if !strings.EqualFold(o.Repo, l.Repo) {
			add("repository", o.Repo, l.Repo)
		}
		if !strings.EqualFold(o.Host, l.Host) {
			add("host", orDefaultHost(o), orDefaultHost(l))
		}
		if l.Ref != "" && o.Ref != "" && o.Ref != l.Ref {
			add("ref", o.Ref, l.Ref)
		}
	case "git", "hg", "mercurial":
		if normURL(o.URL) != normURL(l.URL) {
			add("url", o.URL, l.URL)
		}
		if o.Ref != "" && l.Ref != "" && strings.TrimPrefix(o.Ref, "refs/heads/") != strings.TrimPrefix(l.Ref, "refs/heads/") {
			add("ref", o.Ref, l.Ref)
		}
	case "tarball", "file":
		out = append(out, sourceDiff(o, l)...)
	case "path":
		if o.Path != l.Path && !strings.HasPrefix(l.Path, "/nix/store/") {
			add("url", "path:"+o.Path, "path:"+l.Path)
		}
	}
	return out
}

// sourceDiff compares URL sources: the repository when both name one, else
// the site (registrable domain) the server redirected within.
func sourceDiff(o, l *Ref) []Difference {
	so, sl := refSource(o), refSource(l)
	if so == sl {
		return nil
	}
	if strings.Contains(so, "/") && strings.Contains(sl, "/") && strings.SplitN(so, "/", 2)[0] == strings.SplitN(sl, "/", 2)[0] &&
		(o.Type == "tarball" || o.Type == "file") && o.Type == l.Type && !isRepoSource(so) {
		return nil // the same host, a path the server chose
	}
	ho, hl := hostOf(o), hostOf(l)
	if (o.Type == "tarball" || o.Type == "file") && ho != "" && registrable(ho) == registrable(hl) && !isRepoSource(so) {
		return nil
	}
	what := "url"
	switch {
	case registrable(ho) != registrable(hl):
		what = "host"
	case Owner(so) != Owner(sl):
		what = "owner"
	}
	desc := func(r *Ref) string {
		if r.URL != "" {
			return r.URL
		}
		return r.String()
	}
	return []Difference{{what, desc(o), desc(l)}}
}

// isRepoSource reports a source that names a repository on a forge or
// FlakeHub (host/owner/repo), whose owner and repository must match.
func isRepoSource(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	switch host {
	case "github.com", "gitlab.com", "codeberg.org", "flakehub.com", "git.sr.ht", "bitbucket.org":
		return strings.Count(s, "/") >= 2
	}
	return false
}

func hostOf(r *Ref) string {
	switch r.Type {
	case "github", "gitlab", "sourcehut":
		return orDefaultHost(r)
	}
	u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(r.URL, "git+"), "hg+"))
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func orDefaultHost(r *Ref) string {
	if r.Host != "" {
		return strings.ToLower(r.Host)
	}
	return map[string]string{"github": "github.com", "gitlab": "gitlab.com", "sourcehut": "git.sr.ht"}[r.Type]
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// normURL compares git URLs: scheme prefix, case of the host, a trailing
// ".git" or "/" and the query aside.
func normURL(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "git+"), "hg+")
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	if u.Host == "" {
		return u.Scheme + ":" + p + u.Opaque
	}
	return strings.ToLower(u.Scheme+"://"+u.Host) + p
}
