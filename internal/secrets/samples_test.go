package secrets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/secrets/samples"
)

// TestSampleSet holds the default rules to the labelled sample set (see
// package samples): every true sample of every class is found, and no
// negative one — placeholders, code, documentation, the peers' false
// positive cases, and encrypted material — raises anything. A file is
// found when the scan reports a secret in it, or (for Kubernetes
// manifests) a plain Secret with literal values.
func TestSampleSet(t *testing.T) {
	set := samples.Set(21)
	dir := t.TempDir()
	if err := samples.Write(dir, set); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "labels.json"))
	rs := defaultRuleset(t)
	hit := map[string][]string{}
	var ms []Manifest
	err := rs.ScanDir(context.Background(), dir, Sink{
		Finding:  func(f Finding) { hit[f.Path] = append(hit[f.Path], f.RuleID) },
		Manifest: func(m Manifest) { ms = append(ms, m) },
		Error:    func(name string, err error) { t.Errorf("%s: %v", name, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Exposures(ms) {
		hit[e.Manifest.Path] = append(hit[e.Manifest.Path], "k8s-secret-manifest")
	}
	type count struct{ pos, tp, neg, fp int }
	per := map[string]*count{}
	for _, s := range set {
		c := per[s.Class]
		if c == nil {
			c = &count{}
			per[s.Class] = c
		}
		found := len(hit[s.Name]) > 0
		switch {
		case s.Positive:
			c.pos++
			if found {
				c.tp++
			} else {
				t.Errorf("missed %s (%s):\n%s", s.Name, s.Source, clip(s.Content))
			}
		default:
			c.neg++
			if found {
				c.fp++
				t.Errorf("false alarm %s (%s) by %v:\n%s", s.Name, s.Source, hit[s.Name], clip(s.Content))
			}
		}
	}
	var classes []string
	for c := range per {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	for _, c := range classes {
		x := per[c]
		fmt.Fprintf(&b, "%-20s recall %d/%d  false alarms %d/%d\n", c, x.tp, x.pos, x.fp, x.neg)
	}
	t.Logf("per class:\n%s", b.String())
}

// clip keeps test failure messages short; the samples are generated, not
// live secrets.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
