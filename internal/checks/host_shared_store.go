package checks

import (
	"context"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSharedStore enforces R7 and R8 on a host the policy declares shared
// by tenants ([host] shared = true): seed 004's multi-tenant posture.
var HostSharedStore = &check.Check{
	ID:          "host-shared-store",
	Title:       "Tenants of a shared build host share one store",
	Severity:    check.High,
	Rules:       []string{"R7", "R8"},
	Why:         "On a host shared by tenants, every tenant's builds land in one world-readable store and run under one daemon: a build sees what the sandbox does not hide, a trusted user can turn the sandbox off, and one tenant's outputs are another's inputs.",
	Remediation: "Give each tenant its own remote builder and store (max-jobs = 0 here, builders = ssh-ng://tenant-builder per tenant), keep trusted-users to root, and restrict allowed-users; prove the sandbox hides the store with nixgate host --probe.",
	Scope:       check.ScopeHost,
	Run:         runHostSharedStore,
}

// runHostSharedStore reports the posture when the policy says the host is
// shared and it still builds locally for several accounts.
func runHostSharedStore(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if !h.Shared {
		return nil
	}
	t := h.Tenancy()
	if t.RemoteOnly {
		return nil
	}
	msg := "this host is shared by tenants ([host] shared = true) and builds locally: " + t.Summary()
	if r := h.Probe; r != nil && r.StoreIsolation == hostaudit.StoreExposed {
		msg += "; the probe build read a store path outside its closure"
	}
	msg += "; give each tenant its own remote builder (builders = ssh-ng://..., max-jobs = 0 here)"
	loc := hostLoc(h, "allowed-users")
	if !t.SharedStore {
		// One account (a CI user) runs every tenant's jobs.
		loc = hostLoc(h, "max-jobs")
	}
	p.Reportf(loc, "shared-store:"+strings.ReplaceAll(t.Store, " ", "_"), "%s", msg)
	return nil
}
