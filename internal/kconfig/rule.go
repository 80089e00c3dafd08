package kconfig

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// Test is a condition as a profile writes it: exactly one of
//
//   - an option test: one of kconfig, cmdline or sysctl naming the option,
//     with exactly one of is ("y", "m", "not set", "present" or a value),
//     ge (a number the value must be at least), contains (a member of a
//     comma-separated list) or one-of (a list of accepted values);
//   - arch: the architectures the configuration must be one of;
//   - version-ge and/or version-lt: a kernel version range;
//   - any or all: a list of tests, one or all of which must hold.
//
// An option that a configuration does not mention is not set. A value of
// "m" never satisfies is = "y".
type Test struct {
	Kconfig   string   `toml:"kconfig,omitempty"`
	Cmdline   string   `toml:"cmdline,omitempty"`
	Sysctl    string   `toml:"sysctl,omitempty"`
	Is        *string  `toml:"is,omitempty"`
	Ge        *int64   `toml:"ge,omitempty"`
	Contains  string   `toml:"contains,omitempty"`
	OneOf     []string `toml:"one-of,omitempty"`
	Arch      []string `toml:"arch,omitempty"`
	VersionGe string   `toml:"version-ge,omitempty"`
	VersionLt string   `toml:"version-lt,omitempty"`
	Any       []Test   `toml:"any,omitempty"`
	All       []Test   `toml:"all,omitempty"`
}

func (t *Test) empty() bool {
	return t.Kconfig == "" && t.Cmdline == "" && t.Sysctl == "" && t.Is == nil && t.Ge == nil &&
		t.Contains == "" && t.OneOf == nil && t.Arch == nil && t.VersionGe == "" && t.VersionLt == "" &&
		t.Any == nil && t.All == nil
}

// Input kinds.
type kind uint8

const (
	kindNone kind = iota
	kindKconfig
	kindCmdline
	kindSysctl
)

var kindFlag = [...]string{kindKconfig: "the configuration", kindCmdline: "--cmdline", kindSysctl: "--sysctl"}

type nodeType uint8

const (
	nLeaf nodeType = iota
	nArch
	nVersion
	nAny
	nAll
)

type op uint8

const (
	opY op = iota
	opM
	opNotSet
	opPresent
	opEq
	opGe
	opContains
	opOneOf
)

// node is a compiled Test.
type node struct {
	typ   nodeType
	kind  kind
	name  string // option name; kconfig names without CONFIG_
	op    op
	value string
	num   int64
	list  []string
	// version range: ge <= v < lt; zero means unbounded.
	ge, lt Version
	kids   []*node
}

// compile checks a Test and turns it into a node.
func compile(t *Test) (*node, error) {
	var forms []string
	if t.Kconfig != "" || t.Cmdline != "" || t.Sysctl != "" {
		forms = append(forms, "an option test")
	}
	if t.Arch != nil {
		forms = append(forms, "arch")
	}
	if t.VersionGe != "" || t.VersionLt != "" {
		forms = append(forms, "version-ge/version-lt")
	}
	if t.Any != nil {
		forms = append(forms, "any")
	}
	if t.All != nil {
		forms = append(forms, "all")
	}
	hasOp := t.Is != nil || t.Ge != nil || t.Contains != "" || t.OneOf != nil
	switch {
	case len(forms) == 0 && hasOp:
		return nil, errors.New("is/ge/contains/one-of need kconfig, cmdline or sysctl to name the option")
	case len(forms) == 0:
		return nil, errors.New("empty test: want kconfig, cmdline, sysctl, arch, version-ge, version-lt, any or all")
	case len(forms) > 1:
		return nil, fmt.Errorf("one test mixes %s: write them as separate tests inside all = [...]", strings.Join(forms, " and "))
	case hasOp && forms[0] != "an option test":
		return nil, fmt.Errorf("is/ge/contains/one-of belong to an option test, not to %s", forms[0])
	}
	switch {
	case t.Arch != nil:
		if len(t.Arch) == 0 {
			return nil, errors.New("arch: empty list")
		}
		n := &node{typ: nArch}
		for _, a := range t.Arch {
			na, err := NormalizeArch(a)
			if err != nil {
				return nil, fmt.Errorf("arch: %w", err)
			}
			n.list = append(n.list, na)
		}
		return n, nil
	case t.VersionGe != "" || t.VersionLt != "":
		n := &node{typ: nVersion}
		var err error
		if t.VersionGe != "" {
			if n.ge, err = ParseVersion(t.VersionGe); err != nil {
				return nil, fmt.Errorf("version-ge: %w", err)
			}
		}
		if t.VersionLt != "" {
			if n.lt, err = ParseVersion(t.VersionLt); err != nil {
				return nil, fmt.Errorf("version-lt: %w", err)
			}
		}
		return n, nil
	case t.Any != nil || t.All != nil:
		n := &node{typ: nAny}
		kids := t.Any
		if t.All != nil {
			n.typ, kids = nAll, t.All
		}
		if len(kids) == 0 {
			return nil, errors.New("any/all: empty list")
		}
		for i := range kids {
			k, err := compile(&kids[i])
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	}
	n := &node{typ: nLeaf}
	switch {
	case t.Kconfig != "" && t.Cmdline == "" && t.Sysctl == "":
		n.kind, n.name = kindKconfig, strings.TrimPrefix(t.Kconfig, "CONFIG_")
		if invalidNameByte(n.name) >= 0 {
			return nil, fmt.Errorf("kconfig: invalid option name %q", t.Kconfig)
		}
	case t.Cmdline != "" && t.Kconfig == "" && t.Sysctl == "":
		n.kind, n.name = kindCmdline, paramKey(t.Cmdline)
	case t.Sysctl != "" && t.Kconfig == "" && t.Cmdline == "":
		n.kind, n.name = kindSysctl, sysctlKey(t.Sysctl)
	default:
		return nil, errors.New("one test names one option: kconfig, cmdline or sysctl")
	}
	ops := 0
	for _, set := range []bool{t.Is != nil, t.Ge != nil, t.Contains != "", t.OneOf != nil} {
		if set {
			ops++
		}
	}
	if ops != 1 {
		return nil, fmt.Errorf("%s: want exactly one of is, ge, contains, one-of (have %d)", n.label(), ops)
	}
	switch {
	case t.Is != nil:
		switch *t.Is {
		case "y":
			n.op = opY
		case "m":
			n.op = opM
		case "not set", "is not set", "n":
			n.op = opNotSet
		case "present", "set":
			n.op = opPresent
		case "":
			return nil, fmt.Errorf("%s: is: empty value", n.label())
		default:
			n.op, n.value = opEq, *t.Is
		}
		if n.kind != kindKconfig && (n.op == opY || n.op == opM) {
			n.op, n.value = opEq, *t.Is
		}
	case t.Ge != nil:
		n.op, n.num = opGe, *t.Ge
	case t.Contains != "":
		n.op, n.value = opContains, t.Contains
	default:
		if len(t.OneOf) == 0 {
			return nil, fmt.Errorf("%s: one-of: empty list", n.label())
		}
		n.op, n.list = opOneOf, t.OneOf
	}
	return n, nil
}

// label names a leaf's option: CONFIG_X, cmdline:x or sysctl:x.y.
func (n *node) label() string {
	switch n.kind {
	case kindKconfig:
		return "CONFIG_" + n.name
	case kindCmdline:
		return "cmdline:" + n.name
	case kindSysctl:
		return "sysctl:" + n.name
	}
	return ""
}

// defaultID is the ID of a rule that does not name one: the option of its
// test when the test is a single option test.
func (n *node) defaultID() string {
	if n.typ != nLeaf {
		return ""
	}
	if n.kind == kindKconfig {
		return n.name
	}
	return n.label()
}

// primary is the input kind of the first option test, depth first.
func (n *node) primary() kind {
	if n.typ == nLeaf {
		return n.kind
	}
	for _, k := range n.kids {
		if p := k.primary(); p != kindNone {
			return p
		}
	}
	return kindNone
}

// expected renders what the test wants. Inside a compound each leaf names
// its option.
func (n *node) expected(top bool) string {
	switch n.typ {
	case nArch:
		return "arch is " + strings.Join(n.list, " or ")
	case nVersion:
		switch {
		case n.ge.IsZero():
			return "version < " + n.lt.short()
		case n.lt.IsZero():
			return "version >= " + n.ge.short()
		}
		return "version >= " + n.ge.short() + " and < " + n.lt.short()
	case nAny, nAll:
		sep := " or "
		if n.typ == nAll {
			sep = " and "
		}
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.expected(false)
			if k.typ == nAny || k.typ == nAll {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, sep)
	}
	var e string
	switch n.op {
	case opY:
		e = "y"
	case opM:
		e = "m"
	case opNotSet:
		e = "is not set"
	case opPresent:
		e = "is present"
	case opEq:
		e = n.value
	case opGe:
		e = ">= " + strconv.FormatInt(n.num, 10)
	case opContains:
		e = "contains " + n.value
	case opOneOf:
		e = "one of " + strings.Join(n.list, ", ")
	}
	if top {
		return e
	}
	switch n.op {
	case opY, opM, opEq:
		return n.label() + "=" + e
	}
	return n.label() + " " + e
}

func (v Version) short() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return v.String()
}

// tri is a three-valued truth: an input that was not given makes a test
// unknown.
type tri uint8

const (
	tFalse tri = iota
	tTrue
	tUnknown
)

func triOf(b bool) tri {
	if b {
		return tTrue
	}
	return tFalse
}

// Input is what rules are evaluated against. Cmdline and Sysctl may be
// nil: tests on them are then unknown.
type Input struct {
	Config *Config
	// Arch overrides the configuration's architecture when not empty.
	Arch    string
	Cmdline *Cmdline
	Sysctl  *Sysctl
	// Paths name the inputs in reports and findings.
	ConfigPath, CmdlinePath, SysctlPath string
}

func (in *Input) arch() string {
	if in.Arch != "" {
		return in.Arch
	}
	return in.Config.Arch
}

func (in *Input) has(k kind) bool {
	switch k {
	case kindCmdline:
		return in.Cmdline != nil
	case kindSysctl:
		return in.Sysctl != nil
	}
	return true
}

// obs is what one leaf saw.
type obs struct {
	label, actual string
	kind          kind
	line, col     int
}

type evaluator struct {
	in   *Input
	seen []obs
}

func (e *evaluator) eval(n *node) tri {
	switch n.typ {
	case nArch:
		a := e.in.arch()
		if a == "" {
			return tUnknown
		}
		return triOf(slices.Contains(n.list, a))
	case nVersion:
		v := e.in.Config.Version
		if v.IsZero() {
			return tTrue // unknown version: the rule applies
		}
		return triOf((n.ge.IsZero() || v.Compare(n.ge) >= 0) && (n.lt.IsZero() || v.Compare(n.lt) < 0))
	case nAny:
		r := tFalse
		for _, k := range n.kids {
			switch e.eval(k) {
			case tTrue:
				r = tTrue
			case tUnknown:
				if r == tFalse {
					r = tUnknown
				}
			}
		}
		return r
	case nAll:
		r := tTrue
		for _, k := range n.kids {
			switch e.eval(k) {
			case tFalse:
				r = tFalse
			case tUnknown:
				if r == tTrue {
					r = tUnknown
				}
			}
		}
		return r
	}
	return e.leaf(n)
}

func (e *evaluator) note(n *node, actual string, line, col int) {
	for _, o := range e.seen {
		if o.label == n.label() {
			return
		}
	}
	e.seen = append(e.seen, obs{label: n.label(), actual: actual, kind: n.kind, line: line, col: col})
}

func (e *evaluator) leaf(n *node) tri {
	var (
		val         string
		set, quoted bool
		line, col   int
		actual      string
	)
	switch n.kind {
	case kindKconfig:
		o, ok := e.in.Config.Options[n.name]
		line = o.Line
		switch {
		case !ok:
			actual = "absent"
		case o.NotSet:
			actual = "is not set"
		default:
			val, set, quoted = o.Value, true, o.Quoted
			actual = val
			if quoted {
				actual = strconv.Quote(val)
			}
		}
	case kindCmdline:
		if e.in.Cmdline == nil {
			e.note(n, "(no --cmdline)", 0, 0)
			return tUnknown
		}
		p, ok := e.in.Cmdline.Params[n.name]
		line, col = p.Line, p.Column
		switch {
		case !ok:
			actual = "absent"
		case p.HasValue:
			val, set, actual = p.Value, true, p.Value
		default:
			set, actual = true, "present"
		}
	case kindSysctl:
		if e.in.Sysctl == nil {
			e.note(n, "(no --sysctl)", 0, 0)
			return tUnknown
		}
		v, ok := e.in.Sysctl.Values[n.name]
		line = v.Line
		if ok {
			val, set, actual = v.Value, true, v.Value
		} else {
			actual = "absent"
		}
	}
	e.note(n, actual, line, col)
	switch n.op {
	case opY:
		return triOf(set && val == "y")
	case opM:
		return triOf(set && val == "m")
	case opNotSet:
		return triOf(!set)
	case opPresent:
		return triOf(set)
	case opEq:
		return triOf(set && sameValue(val, n.value))
	case opGe:
		x, err := strconv.ParseInt(val, 0, 64)
		return triOf(set && err == nil && x >= n.num)
	case opContains:
		if !set {
			return tFalse
		}
		for _, m := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
			if m == n.value {
				return tTrue
			}
		}
		return tFalse
	case opOneOf:
		if !set {
			return tFalse
		}
		for _, w := range n.list {
			if sameValue(val, w) {
				return tTrue
			}
		}
	}
	return tFalse
}

// sameValue compares values, numerically when both are integers (so that
// 0x0 equals 0).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseInt(a, 0, 64)
	y, err2 := strconv.ParseInt(b, 0, 64)
	return err1 == nil && err2 == nil && x == y
}

// Verdict is the outcome of one rule.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	// NotApplicable: the rule's when condition does not hold.
	NotApplicable Verdict = "n/a"
	// Skipped: the input the rule is about was not given.
	Skipped Verdict = "skip"
	// Muted: the rule fails but a profile muted it with a reason.
	Muted Verdict = "muted"
)

// Rule is a compiled rule.
type Rule struct {
	ID       string
	Reason   string
	Source   string
	Severity check.Severity
	// Muted holds the reason a profile gave for muting the rule.
	Muted string
	when  *node
	test  *node
}

// Expected renders what the rule wants.
func (r *Rule) Expected() string { return r.test.expected(r.test.typ == nLeaf) }

// Option is the option column: the option of a single test, else the ID.
func (r *Rule) Option() string {
	if r.test.typ == nLeaf {
		return r.test.label()
	}
	return r.ID
}

// Result is the outcome of one rule on one input.
type Result struct {
	Profile  string         `json:"profile"`
	ID       string         `json:"id"`
	Option   string         `json:"option"`
	Expected string         `json:"expected"`
	Actual   string         `json:"actual"`
	Verdict  Verdict        `json:"verdict"`
	Reason   string         `json:"reason"`
	Source   string         `json:"source,omitempty"`
	Severity check.Severity `json:"severity"`
	// Note explains a skip, a not-applicable or an undecided failure.
	Note string `json:"note,omitempty"`
	// MuteReason is set when a profile muted the rule.
	MuteReason string `json:"muteReason,omitempty"`
	// File, Line and Column locate the option that decided the result:
	// the configuration line, or the command-line or sysctl entry.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// Eval evaluates the rule.
func (r *Rule) Eval(in *Input) Result {
	res := Result{ID: r.ID, Option: r.Option(), Expected: r.Expected(), Reason: r.Reason,
		Source: r.Source, Severity: r.Severity, MuteReason: r.Muted}
	e := &evaluator{in: in}
	if r.when != nil {
		switch e.eval(r.when) {
		case tFalse:
			res.Verdict = NotApplicable
			res.Note = "applies only when " + r.when.expected(false)
			e.seen = e.seen[:0]
			e.eval(r.test)
			res.Actual = e.actual()
			return res
		case tUnknown:
			res.Verdict = Skipped
			res.Note = "cannot tell whether it applies (" + r.when.expected(false) + "): " + e.missing()
			res.Actual = e.actual()
			return res
		}
		e.seen = e.seen[:0]
	}
	if p := r.test.primary(); !in.has(p) {
		res.Verdict = Skipped
		res.Note = "no " + kindFlag[p] + " given"
		e.eval(r.test)
		res.Actual = e.actual()
		return res
	}
	switch e.eval(r.test) {
	case tTrue:
		res.Verdict = Pass
	case tFalse:
		res.Verdict = Fail
	default:
		res.Verdict = Fail
		res.Note = "not satisfied by what was given; " + e.missing()
	}
	res.Actual = e.actual()
	if res.Verdict == Fail && r.Muted != "" {
		res.Verdict = Muted
	}
	e.locate(&res)
	return res
}

func (e *evaluator) actual() string {
	if len(e.seen) == 1 {
		return e.seen[0].actual
	}
	parts := make([]string, len(e.seen))
	for i, o := range e.seen {
		switch o.actual {
		case "absent", "is not set", "present":
			parts[i] = o.label + " " + o.actual
		default:
			parts[i] = o.label + "=" + o.actual
		}
	}
	return strings.Join(parts, ", ")
}

// missing says which inputs would decide an unknown test.
func (e *evaluator) missing() string {
	var flags []string
	for _, o := range e.seen {
		if strings.HasPrefix(o.actual, "(no ") {
			f := kindFlag[o.kind]
			if !slices.Contains(flags, f) {
				flags = append(flags, f)
			}
		}
	}
	if len(flags) == 0 {
		return "the architecture is unknown: pass --arch"
	}
	return "give " + strings.Join(flags, " and ") + " to decide"
}

// locate points the result at the first observed option found in its
// input, the configuration first.
func (e *evaluator) locate(res *Result) {
	for _, k := range []kind{kindKconfig, kindCmdline, kindSysctl} {
		for _, o := range e.seen {
			if o.kind == k && o.line > 0 {
				res.File, res.Line, res.Column = e.path(k), o.line, o.col
				return
			}
		}
	}
	res.File = e.in.ConfigPath
}

func (e *evaluator) path(k kind) string {
	switch k {
	case kindCmdline:
		return e.in.CmdlinePath
	case kindSysctl:
		return e.in.SysctlPath
	}
	return e.in.ConfigPath
}
