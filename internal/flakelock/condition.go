package flakelock

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Conditions are CEL expressions (cel.dev) judged once per input, with the
// variables of DeterminateSystems' flake-checker (gitRef, numDaysOld,
// owner, supportedRefs, refStatuses) and a few of nixgate's own. The
// language is google/cel-go's, not a home-made one; its one extension is
// flake-checker's has(variable) on a top-level name (CEL's has() takes only
// a field selection), true when the input has the fact: an input without a
// date has no numDaysOld.

// conditionVars are the variables a condition may use.
var conditionVars = []cel.EnvOption{
	cel.Variable("gitRef", cel.StringType),
	cel.Variable("numDaysOld", cel.IntType),
	cel.Variable("owner", cel.StringType),
	cel.Variable("supportedRefs", cel.ListType(cel.StringType)),
	cel.Variable("refStatuses", cel.MapType(cel.StringType, cel.StringType)),
	// nixgate's own
	cel.Variable("input", cel.StringType),
	cel.Variable("type", cel.StringType),
	cel.Variable("source", cel.StringType),
	cel.Variable("repo", cel.StringType),
	cel.Variable("host", cel.StringType),
	cel.Variable("rev", cel.StringType),
	cel.Variable("locked", cel.BoolType),
	cel.Variable("nixpkgs", cel.BoolType),
	cel.Variable("status", cel.StringType),
	cel.Variable(presentVar, cel.MapType(cel.StringType, cel.BoolType)),
}

// ConditionVariables lists the variables, for documentation.
var ConditionVariables = []string{"gitRef", "numDaysOld", "owner", "supportedRefs", "refStatuses",
	"input", "type", "source", "repo", "host", "rev", "locked", "nixpkgs", "status"}

const presentVar = "nixgate_present"

// hasMacro is CEL's has() for field selections, and flake-checker's has()
// for a top-level variable.
var hasMacro = cel.GlobalMacro("has", 1, func(eh cel.MacroExprFactory, target ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
	switch args[0].Kind() {
	case ast.SelectKind:
		s := args[0].AsSelect()
		return eh.NewPresenceTest(s.Operand(), s.FieldName()), nil
	case ast.IdentKind:
		return eh.NewCall(operators.Index, eh.NewIdent(presentVar), eh.NewLiteral(types.String(args[0].AsIdent()))), nil
	}
	return nil, eh.NewError(args[0].ID(), "invalid argument to has() macro")
})

// listContains is flake-checker's list.contains(x) (its interpreter's;
// standard CEL spells it "x in list").
var listContains = cel.Function("contains",
	cel.MemberOverload("list_string_contains_string", []*cel.Type{cel.ListType(cel.StringType), cel.StringType}, cel.BoolType,
		cel.BinaryBinding(func(list, x ref.Val) ref.Val {
			l, ok := list.(traits.Lister)
			if !ok {
				return types.NewErr("contains: not a list")
			}
			return l.Contains(x)
		})))

func conditionEnv() (*cel.Env, error) {
	macros := []cel.Macro{hasMacro}
	for _, m := range cel.StandardMacros {
		if m.Function() != "has" {
			macros = append(macros, m)
		}
	}
	opts := append(slices.Clone(conditionVars), cel.ClearMacros(), cel.Macros(macros...), listContains)
	return cel.NewEnv(opts...)
}

// Condition is a compiled condition.
type Condition struct {
	Source string
	prg    cel.Program
}

// ConditionError is a condition that does not compile, at a position in it.
type ConditionError struct {
	Line, Column int
	Msg          string
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// CompileCondition compiles a condition; it must be a boolean expression
// over the condition variables.
func CompileCondition(src string) (*Condition, error) {
	env, err := conditionEnv()
	if err != nil {
		return nil, err
	}
	a, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		e := &ConditionError{Line: 1, Column: 1, Msg: iss.Err().Error()}
		if errs := iss.Errors(); len(errs) > 0 {
			loc := errs[0].Location
			e.Msg = errs[0].Message
			if loc.Line() >= 1 { // some errors (the recursion limit) have none
				e.Line, e.Column = loc.Line(), max(1, loc.Column()+1)
			}
		}
		return nil, e
	}
	if a.OutputType() != cel.BoolType && a.OutputType() != cel.DynType {
		return nil, &ConditionError{Line: 1, Column: 1, Msg: fmt.Sprintf("the condition is a %s, want a bool", a.OutputType())}
	}
	prg, err := env.Program(a, cel.CostLimit(1_000_000))
	if err != nil {
		return nil, err
	}
	return &Condition{Source: src, prg: prg}, nil
}

// Facts are what a condition knows of one input.
type Facts struct {
	Input         string
	GitRef        string
	NumDaysOld    int64
	HasDays       bool
	Owner         string
	Type, Source  string
	Repo, Host    string
	Rev           string
	Locked        bool
	Nixpkgs       bool
	Status        string
	SupportedRefs []string
	RefStatuses   map[string]string
}

// Eval judges one input: true when the condition holds.
func (c *Condition) Eval(f Facts) (bool, error) {
	present := map[string]bool{
		"gitRef": f.GitRef != "", "numDaysOld": f.HasDays, "owner": f.Owner != "",
		"supportedRefs": true, "refStatuses": true, "input": true, "type": true,
		"source": f.Source != "", "repo": f.Repo != "", "host": f.Host != "", "rev": f.Rev != "",
		"locked": true, "nixpkgs": true, "status": f.Status != "",
	}
	refs := f.SupportedRefs
	if refs == nil {
		refs = []string{}
	}
	st := f.RefStatuses
	if st == nil {
		st = map[string]string{}
	}
	out, _, err := c.prg.Eval(map[string]any{
		"gitRef": f.GitRef, "numDaysOld": f.NumDaysOld, "owner": f.Owner, "supportedRefs": refs,
		"refStatuses": st, "input": f.Input, "type": f.Type, "source": f.Source, "repo": f.Repo,
		"host": f.Host, "rev": f.Rev, "locked": f.Locked, "nixpkgs": f.Nixpkgs, "status": f.Status,
		presentVar: present,
	})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, errors.New("the condition did not give a bool")
	}
	return b, nil
}

// FactsOf gathers what a condition knows of a node reached by the input
// path named input, at time now, with the branch data d.
func FactsOf(n *Node, input string, d *BranchData, now time.Time) Facts {
	l := n.Locked
	f := Facts{Input: input, Type: l.Type, Source: n.LockedSource(), Repo: l.Repo, Rev: l.Rev, Nixpkgs: n.NixpkgsLike()}
	f.Locked, _ = l.Locked()
	f.Host = l.HostName()
	switch l.Type {
	case "github", "gitlab", "sourcehut":
		f.Owner = l.Owner // the locked owner: what Nix fetches
	default:
		if o := Owner(f.Source); strings.Contains(o, "/") && !strings.HasPrefix(o, "path:") {
			f.Owner = o[strings.IndexByte(o, '/')+1:]
		}
	}
	f.GitRef = strings.TrimPrefix(n.RefName(), "refs/heads/")
	if lm := l.LastModified; lm > 1 {
		f.HasDays = true
		f.NumDaysOld = int64(now.Sub(time.Unix(lm, 0)).Hours() / 24)
	}
	f.RefStatuses = d.RefStatuses(now)
	for ref, s := range f.RefStatuses {
		if s == "rolling" || s == "stable" || s == "deprecated" {
			f.SupportedRefs = append(f.SupportedRefs, ref)
		}
	}
	slices.Sort(f.SupportedRefs)
	if b := n.Branch(); b != "" {
		st, _ := d.Status(b, now)
		f.Status = string(st)
	}
	return f
}

// RefStatuses names the status of every nixpkgs branch at time now in
// flake-checker's words (ref-statuses.json): "rolling", "beta", "stable",
// "deprecated" (supported, a newer release is out) or "unmaintained".
func (d *BranchData) RefStatuses(now time.Time) map[string]string {
	out := map[string]string{}
	for _, r := range d.Rolling {
		if r != "master" {
			out[r] = "rolling"
		}
	}
	day := now.UTC().Format(time.DateOnly)
	newest := ""
	for _, r := range d.Releases {
		if r.Released <= day {
			newest = max(newest, r.Version)
		}
	}
	for _, r := range d.Releases {
		s := "stable"
		switch {
		case day < r.Released:
			s = "beta"
		case day > r.EOL:
			s = "unmaintained"
		case r.Version != newest:
			s = "deprecated"
		}
		for _, b := range []string{"nixos-" + r.Version, "nixos-" + r.Version + "-small", "nixpkgs-" + r.Version + "-darwin"} {
			out[b] = s
		}
	}
	return out
}
