package rebuild

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/nix-community/go-nix/pkg/narinfo/signature"

	"github.com/nixgate/nixgate/internal/nixcli"
)

// InputSubstitution lets the inputs of the derivations under test be
// substituted (--substitute-inputs). The derivations under test are
// always built, with substituters off.
type InputSubstitution struct {
	// Substituters; empty means the user's configured substituters.
	Substituters []string
	// TrustedPublicKeys are trusted in addition to the configured
	// trusted-public-keys. Signatures are always required.
	TrustedPublicKeys []string
}

// Validate checks the substituter URLs and the keys' form.
func (s *InputSubstitution) Validate() error {
	for _, u := range s.Substituters {
		if u == "" || strings.ContainsFunc(u, unicode.IsSpace) {
			return fmt.Errorf("substituter %q: empty or contains spaces", u)
		}
		if !strings.Contains(u, "://") && u != "daemon" && u != "local" && u != "auto" {
			return fmt.Errorf("substituter %q: want a store URL such as file:///srv/cache or https://cache.example", u)
		}
	}
	for _, k := range s.TrustedPublicKeys {
		if _, err := signature.ParsePublicKey(k); err != nil {
			return fmt.Errorf("trusted public key %q: want NAME:BASE64 as printed by nix key convert-secret-to-public: %w", k, err)
		}
	}
	return nil
}

// SubstitutionReport says where the inputs could be substituted from.
type SubstitutionReport struct {
	Substituters []string `json:"substituters"`
	// Configured: no substituter was named, the user's configured ones
	// were used.
	Configured        bool     `json:"configured"`
	TrustedPublicKeys []string `json:"trustedPublicKeys,omitempty"`
}

// Input statuses.
const (
	InputSubstituted = "substituted"
	InputBuilt       = "built"
	InputPresent     = "present" // valid in the store before the run
)

// InputsReport is how one builder realised the inputs of the derivations
// under test.
type InputsReport struct {
	// Inputs are the outputs of the input derivations of the derivations
	// under test.
	Inputs      []InputReport `json:"inputs"`
	Substituted int           `json:"substituted"`
	Built       int           `json:"built"`
	Present     int           `json:"present"`
	// SubstitutedPaths and BuiltDerivations are everything Nix did to
	// realise the inputs: their closures included.
	SubstitutedPaths []nixcli.Substitution `json:"substitutedPaths"`
	BuiltDerivations []string              `json:"builtDerivations"`
	// Refused are substitutes not signed by a trusted key: Nix built
	// those paths instead.
	Refused []nixcli.Substitution `json:"refused,omitempty"`
}

// InputReport is one input output.
type InputReport struct {
	Drv    string `json:"drv"`
	Output string `json:"output"`
	Path   string `json:"path"`
	Status string `json:"status"`
	From   string `json:"from,omitempty"` // the substituter
}

// realiseInputs is the first phase of a build with --substitute-inputs:
// it realises the outputs of the input derivations of the derivations
// under test, with substitution allowed (signatures required). The
// derivations under test are left to the second phase, which builds them
// with substituters off.
func (r *builderRun) realiseInputs(ctx context.Context, log io.Writer, tested map[string]nixcli.Derivation) error {
	sub := r.opts.SubstituteInputs
	var testOutputs []string
	wanted := map[string]map[string]bool{} // input drv -> outputs
	for _, d := range tested {
		for _, o := range d.Outputs {
			testOutputs = append(testOutputs, o.Path)
		}
		for in, outs := range d.InputDrvs {
			if _, ok := tested[in]; ok {
				continue // under test itself: built in the second phase
			}
			if wanted[in] == nil {
				wanted[in] = map[string]bool{}
			}
			for _, o := range outs {
				wanted[in][o] = true
			}
		}
	}
	inputDrvs := slices.Sorted(maps.Keys(wanted))
	rep := &InputsReport{Inputs: []InputReport{}, SubstitutedPaths: []nixcli.Substitution{}, BuiltDerivations: []string{}}
	if len(inputDrvs) == 0 {
		r.logf("no input derivations to realise")
		r.inputs = rep
		return nil
	}
	inputs, err := nixcli.ShowDerivation(ctx, nixcli.ShowDerivationOptions{Store: r.b.showStore(), Installables: inputDrvs, Log: log})
	if err != nil {
		return fmt.Errorf("read the input derivations: %w", err)
	}
	var inputPaths []string
	for _, drv := range inputDrvs {
		for _, o := range slices.Sorted(maps.Keys(wanted[drv])) {
			out, ok := inputs[drv].Outputs[o]
			if !ok || out.Path == "" {
				return fmt.Errorf("input %s has no output %q with a known path (content-addressed inputs are not supported)", drv, o)
			}
			rep.Inputs = append(rep.Inputs, InputReport{Drv: drv, Output: o, Path: out.Path})
			inputPaths = append(inputPaths, out.Path)
		}
	}
	if r.b.Kind == Remote {
		if err := nixcli.CopyDerivations(ctx, r.b.URI, inputDrvs, log); err != nil {
			return fmt.Errorf("copy the input derivations to %s: %w", r.b.URI, err)
		}
	}
	before, err := nixcli.QueryValid(ctx, r.b.URI, append(slices.Clone(inputPaths), testOutputs...))
	if err != nil {
		return fmt.Errorf("query the store: %w", err)
	}
	var missing []string
	for _, in := range rep.Inputs {
		if _, ok := before[in.Path]; !ok {
			missing = append(missing, in.Drv+"!"+in.Output)
		}
	}
	where := "the configured substituters"
	if len(sub.Substituters) > 0 {
		where = strings.Join(sub.Substituters, " ")
	}
	r.logf("realising %d of %d input(s), substitutes from %s", len(missing), len(rep.Inputs), where)
	res := &nixcli.RealiseResult{}
	if len(missing) > 0 {
		res, err = nixcli.Realise(ctx, nixcli.RealiseOptions{Store: r.b.URI, Paths: missing,
			Settings: nixcli.SubstituteInputs(sub.Substituters, sub.TrustedPublicKeys), Log: log})
		if err != nil {
			return fmt.Errorf("realise the inputs: %w", err)
		}
	}
	var substituted []string
	for _, s := range res.Substituted {
		substituted = append(substituted, s.Path)
	}
	after, err := nixcli.QueryValid(ctx, r.b.URI, slices.Concat(inputPaths, testOutputs, substituted))
	if err != nil {
		return fmt.Errorf("query the store: %w", err)
	}
	for _, p := range testOutputs {
		_, was := before[p]
		if _, is := after[p]; is && !was {
			return fmt.Errorf("%s, an output under test, was realised with the inputs (it is in the closure of another input); rebuild it on its own", p)
		}
	}
	from := map[string]string{}
	seen := map[string]bool{}
	for _, s := range res.Substituted {
		// A substitution Nix started and that left the path valid and not
		// built here (a failed one is followed by a build).
		if in, ok := after[s.Path]; ok && !in.Ultimate && !seen[s.Path] {
			seen[s.Path] = true
			from[s.Path] = s.From
			rep.SubstitutedPaths = append(rep.SubstitutedPaths, s)
		}
	}
	rep.BuiltDerivations = append(rep.BuiltDerivations, res.Built...)
	rep.Refused = res.Refused
	for i := range rep.Inputs {
		in := &rep.Inputs[i]
		info, valid := after[in.Path]
		switch {
		case !valid:
			return fmt.Errorf("input %s is not valid after realising it", in.Path)
		case before[in.Path].Path != "":
			in.Status = InputPresent
			rep.Present++
		case info.Ultimate:
			in.Status = InputBuilt
			rep.Built++
		default:
			in.Status, in.From = InputSubstituted, from[in.Path]
			rep.Substituted++
		}
	}
	r.inputs = rep
	r.logf("inputs: %d substituted, %d built, %d already present (closure: %d path(s) substituted, %d derivation(s) built, %d substitute(s) refused)",
		rep.Substituted, rep.Built, rep.Present, len(rep.SubstitutedPaths), len(rep.BuiltDerivations), len(rep.Refused))
	return nil
}
