package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/secrets"
)

// K8sSecretManifest enforces R4 for Kubernetes manifests.
var K8sSecretManifest = &check.Check{
	ID:       "k8s-secret-manifest",
	Title:    "A plain Kubernetes Secret manifest is committed",
	Severity: check.High,
	Rules:    []string{"R4"},
	Why: "A Secret manifest holds its values in clear (base64 is an encoding, not encryption). " +
		"The usual leak is the plaintext file fed to kubeseal, committed beside the SealedSecret it produced.",
	Remediation: "Rotate the values, delete the plain manifest, commit only the SealedSecret (or a SOPS-encrypted " +
		"file), and add the plaintext's name pattern (such as *.orig.yaml) to .gitignore.",
	Scope: check.ScopeRepo,
	Run:   runK8sSecretManifest,
}

// KubeManifests reads the Kubernetes secret objects of a repository's
// YAML files.
func KubeManifests(ctx context.Context, r *repo.Repo, names []string) ([]secrets.Manifest, error) {
	empty, err := secrets.NewRuleset(nil, nil)
	if err != nil {
		return nil, err
	}
	var ms []secrets.Manifest
	for _, name := range names {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !secrets.KubeName(name) {
			continue
		}
		fi, err := r.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4<<20 {
			continue
		}
		data, err := r.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if !secrets.LooksKubernetes(name, data) {
			continue
		}
		k, err := empty.Kubernetes(name, data)
		if err != nil {
			continue // not YAML: nothing Kubernetes can apply either
		}
		ms = append(ms, k.Manifests...)
	}
	return ms, nil
}

func runK8sSecretManifest(ctx context.Context, p *check.Pass) error {
	var ms []secrets.Manifest
	var err error
	if in, ok := p.Input.(HistoryInput); ok && in.SecretHistory() != nil {
		ms, err = historyManifests(ctx, p, *in.SecretHistory())
	} else {
		ms, err = KubeManifests(ctx, p.Repo, scanFiles(p))
	}
	if err != nil {
		return err
	}
	for _, e := range secrets.Exposures(ms) {
		p.ReportSeverity(e.Severity(), ExposureFinding(e))
	}
	return nil
}

// historyManifests are the manifests a range of history adds (each whose
// kind line one of its commits added), outside the policy's ignore globs:
// those secret-leak's scan of the same range hands over, or, when the run
// does not scan it for secrets, those of a read of the range for
// manifests alone.
func historyManifests(ctx context.Context, p *check.Pass, rg secrets.Range) ([]secrets.Manifest, error) {
	var ms []secrets.Manifest
	if s, ok := p.Input.(SecretScan); ok && s.Manifests != nil {
		var err error
		if ms, err = s.Manifests.wait(ctx); err != nil {
			return nil, fmt.Errorf("history scan: %w", err)
		}
	} else {
		hist, err := secrets.OpenHistory(ctx, p.Repo.Dir, rg)
		if err != nil {
			return nil, fmt.Errorf("scan history: %w", err)
		}
		defer hist.Close()
		none, err := secrets.NewRuleset(nil, nil)
		if err != nil {
			return nil, err
		}
		err = hist.Scan(none, secrets.Sink{Manifest: func(m secrets.Manifest) { ms = append(ms, m) }})
		if err != nil {
			return nil, fmt.Errorf("scan history: %w", err)
		}
	}
	return slices.DeleteFunc(ms, func(m secrets.Manifest) bool { return p.Skip(m.Path) }), nil
}

// ExposureFinding describes a plain Secret manifest.
func ExposureFinding(e secrets.Exposure) check.Finding {
	m := e.Manifest
	id := m.Name
	if m.Namespace != "" {
		id = m.Namespace + "/" + m.Name
	}
	keys := strings.Join(m.Keys, ", ")
	msg := fmt.Sprintf("plain Kubernetes Secret %s is committed with literal values (%s)", id, keys)
	if e.SealedIn != "" {
		msg = fmt.Sprintf("unsealed leftover: plain Kubernetes Secret %s (%s) is committed beside its SealedSecret in %s", id, keys, e.SealedIn)
	}
	if m.Commit != "" {
		msg += " in commit " + m.Commit[:min(len(m.Commit), 12)]
	}
	return check.Finding{CheckID: "k8s-secret-manifest", Severity: e.Severity(), Message: msg,
		Location: check.Location{Path: m.Path, Line: m.Line}, Key: "secret:" + id, Found: m.Found}
}
