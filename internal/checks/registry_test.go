package checks

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/check"
)

var (
	idRE   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	ruleRE = regexp.MustCompile(`^R([1-9]|1[0-4])$`)
)

// TestRegistry holds every check to the contract documented in
// internal/check: a stable kebab-case ID listed once, in order, with the
// fields the docs, SARIF and `nixgate init` are generated from.
func TestRegistry(t *testing.T) {
	all := All()
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID
	}
	if !slices.IsSorted(ids) {
		t.Errorf("All() is not sorted by ID: %v", ids)
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("duplicate IDs in All(): %v", ids)
	}
	for _, c := range all {
		t.Run(c.ID, func(t *testing.T) {
			if !idRE.MatchString(c.ID) {
				t.Errorf("ID %q is not kebab-case", c.ID)
			}
			if c.Title == "" || c.Why == "" || c.Remediation == "" || c.Run == nil {
				t.Error("a check needs Title, Why, Remediation and Run")
			}
			if strings.HasSuffix(c.Title, ".") || !strings.HasSuffix(c.Why, ".") || !strings.HasSuffix(c.Remediation, ".") {
				t.Error("Title has no final period; Why and Remediation are sentences")
			}
			if !slices.Contains(check.Scopes(), c.Scope) {
				t.Errorf("unknown scope %q", c.Scope)
			}
			if len(c.Rules) == 0 {
				t.Error("a check enforces at least one rule")
			}
			for _, r := range c.Rules {
				if !ruleRE.MatchString(r) {
					t.Errorf("rule %q is not one of R1..R14", r)
				}
			}
			if c.Severity < check.Info || c.Severity > check.Critical {
				t.Errorf("bad severity %d", c.Severity)
			}
			if c.Options == nil {
				return
			}
			v := reflect.ValueOf(c.Options)
			if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
				t.Fatalf("Options must point to a struct, got %T", c.Options)
			}
			st := v.Elem().Type()
			for i := 0; i < st.NumField(); i++ {
				f := st.Field(i)
				key := f.Tag.Get("toml")
				if !f.IsExported() || key == "" || f.Tag.Get("doc") == "" {
					t.Errorf("option field %s needs to be exported with toml and doc tags", f.Name)
				}
				if slices.Contains([]string{"enabled", "severity", "ignore"}, key) {
					t.Errorf("option %q clashes with a common setting", key)
				}
				if !idRE.MatchString(key) {
					t.Errorf("option key %q is not kebab-case", key)
				}
			}
		})
	}
}
