package secrets

import (
	"testing"

	"github.com/nixgate/nixgate/internal/secrets/samples"
)

// Token-shaped test secrets are generated at test time from templates (see
// samples.Gen), so that no literal token lives in the source.
type gen struct{ g *samples.Gen }

func newGen(seed uint64) *gen { return &gen{samples.New(seed)} }

func (g *gen) render(t testing.TB, tpl string) string {
	t.Helper()
	s, err := g.g.Render(tpl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (g *gen) bytes(n int) []byte { return g.g.Bytes(n) }
