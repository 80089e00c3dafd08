package hostaudit

import (
	"fmt"
	"slices"
	"strings"
)

// Tenancy is the daemon's multi-tenant posture: who may build, who is
// root-equivalent, and whether their builds share one store. On a shared
// CI host (the policy's [host] shared = true), seed 004's advice applies:
// a build can read every store path the sandbox does not hide, and a
// trusted user can turn the sandbox off, so tenants get their own remote
// builders (and stores) rather than one store.
type Tenancy struct {
	// AllowedUsers and TrustedUsers are the entries of allowed-users and
	// trusted-users, each with the members of a @group.
	AllowedUsers []string `json:"allowedUsers"`
	TrustedUsers []string `json:"trustedUsers"`
	// Daemon says a nix-daemon builds for every allowed user in one store.
	Daemon bool `json:"daemon"`
	// SharedStore says the builds of different users (or of every job
	// running as one CI user) land in one store.
	SharedStore bool   `json:"sharedStore"`
	Store       string `json:"store"`
	// RemoteOnly says the host builds nothing itself (max-jobs = 0 and
	// builders set): every build goes to a remote builder.
	RemoteOnly bool   `json:"remoteOnly"`
	Builders   string `json:"builders,omitempty"`
}

// Tenancy describes h's multi-tenant posture.
func (h *Host) Tenancy() Tenancy {
	// Offline (--root), the audit is of a daemon's configuration.
	t := Tenancy{Daemon: h.Daemon != nil || !h.Root.Live(), Store: "/nix/store"}
	if v := h.Config.Get("store").Tokens; len(v) > 0 && v[0] != "auto" && v[0] != "daemon" && v[0] != "local" {
		t.Store = v[0]
	}
	expand := func(name string) []string {
		var out []string
		for _, u := range h.Config.Get(name).Tokens {
			if g, ok := strings.CutPrefix(u, "@"); ok {
				members, known := h.Groups[g]
				switch {
				case !known:
					u += " (unknown group)"
				case len(members) == 0:
					u += " (no members)"
				default:
					u += " (" + strings.Join(members, ", ") + ")"
				}
			} else if u == "*" {
				u = "* (every local account)"
			}
			out = append(out, u)
		}
		return out
	}
	t.AllowedUsers, t.TrustedUsers = expand("allowed-users"), expand("trusted-users")
	if t.AllowedUsers == nil {
		t.AllowedUsers = []string{}
	}
	if t.TrustedUsers == nil {
		t.TrustedUsers = []string{}
	}
	// One store for the builds of several accounts: a daemon that more
	// than one account may use.
	allowed := h.Config.Get("allowed-users").Tokens
	users := 0
	for _, u := range allowed {
		if g, ok := strings.CutPrefix(u, "@"); ok {
			users += max(2, len(h.Groups[g]))
		} else if u == "*" {
			users += 2
		} else {
			users++
		}
	}
	t.SharedStore = t.Daemon && users > 1
	t.Builders = strings.Join(h.Config.Get("builders").Tokens, " ")
	if slices.Equal(h.Config.Get("max-jobs").Tokens, []string{"0"}) {
		for _, b := range h.Config.Get("builders").Tokens {
			if f, ok := strings.CutPrefix(b, "@"); ok {
				if fi, err := h.Root.Stat(f); err == nil && fi.Size() > 0 {
					t.RemoteOnly = true
				}
			} else if b != "" {
				t.RemoteOnly = true
			}
		}
	}
	return t
}

// Summary is one line on the posture, for the host report.
func (t Tenancy) Summary() string {
	var s string
	switch {
	case !t.Daemon:
		s = fmt.Sprintf("no nix-daemon: the store %s is this account's, and every job that runs as it shares it", t.Store)
	case t.SharedStore:
		s = fmt.Sprintf("one store (%s) for the builds of every allowed user: %s", t.Store, orNone(t.AllowedUsers))
	default:
		s = fmt.Sprintf("the daemon builds for %s only", orNone(t.AllowedUsers))
	}
	s += "; trusted-users (root-equivalent): " + orNone(t.TrustedUsers)
	if t.RemoteOnly {
		s += "; no local builds (max-jobs = 0), remote builders: " + t.Builders
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
