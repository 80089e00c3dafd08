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
//     with exactly one of
//     is ("y", "m", "not set", "present" or a value),
//     ge (a number the value must be at least),
//     is-kconfig (a kconfig option whose number the value must equal:
//     ARCH_MMAP_RND_BITS against ARCH_MMAP_RND_BITS_MAX),
//     contains (a member of a comma-separated list),
//     one-of (a list of accepted values),
//     not-off (a command-line parameter that is given and does not say
//     off or 0; with kstrtobool = true, nothing kstrtobool() reads as
//     false either), or
//     bool (a command-line value the kernel's kstrtobool() reads as true
//     or false: 1/y/yes/on/t/true or 0/n/no/off/f/false);
//   - arch: the architectures the configuration must be one of;
//   - version-ge and/or version-lt: a kernel version range;
//   - any or all: a list of tests, one or all of which must hold.
//
// An option that a configuration does not mention is not set; "present"
// means mentioned at all, `# CONFIG_X is not set` included. A value of
// "m" never satisfies is = "y".
type Test struct {
	Kconfig   string   `toml:"kconfig,omitempty"`
	Cmdline   string   `toml:"cmdline,omitempty"`
	Sysctl    string   `toml:"sysctl,omitempty"`
	Is        *string  `toml:"is,omitempty"`
	Ge        *int64   `toml:"ge,omitempty"`
	IsKconfig string   `toml:"is-kconfig,omitempty"`
	Contains  string   `toml:"contains,omitempty"`
	OneOf     []string `toml:"one-of,omitempty"`
	NotOff    bool     `toml:"not-off,omitempty"`
	// Kstrtobool, with not-off, says the parameter is a kernel boolean:
	// a value kstrtobool() reads as false (0, n, no, off) is off too.
	Kstrtobool bool     `toml:"kstrtobool,omitempty"`
	Bool       *bool    `toml:"bool,omitempty"`
	Arch       []string `toml:"arch,omitempty"`
	VersionGe  string   `toml:"version-ge,omitempty"`
	VersionLt  string   `toml:"version-lt,omitempty"`
	Any        []Test   `toml:"any,omitempty"`
	All        []Test   `toml:"all,omitempty"`
}

func (t *Test) hasOp() bool {
	return t.Is != nil || t.Ge != nil || t.IsKconfig != "" || t.Contains != "" || t.OneOf != nil || t.NotOff || t.Bool != nil
}

func (t *Test) empty() bool {
	return t.Kconfig == "" && t.Cmdline == "" && t.Sysctl == "" && !t.hasOp() && t.Arch == nil &&
		t.VersionGe == "" && t.VersionLt == "" && t.Any == nil && t.All == nil
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
	opIsKconfig
	opContains
	opOneOf
	opNotOff
	opNotFalse
	opTrue
	opFalse
)

// node is a compiled Test.
type node struct {
	typ   nodeType
	kind  kind
	name  string // option name; kconfig names without CONFIG_
	op    op
	value string // opEq, opContains; opIsKconfig: the referenced option
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
	switch {
	case len(forms) == 0 && t.hasOp():
		return nil, errors.New("is/ge/is-kconfig/contains/one-of/not-off/bool need kconfig, cmdline or sysctl to name the option")
	case len(forms) == 0:
		return nil, errors.New("empty test: want kconfig, cmdline, sysctl, arch, version-ge, version-lt, any or all")
	case len(forms) > 1:
		return nil, fmt.Errorf("one test mixes %s: write them as separate tests inside all = [...]", strings.Join(forms, " and "))
	case t.hasOp() && forms[0] != "an option test":
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
	for _, set := range []bool{t.Is != nil, t.Ge != nil, t.IsKconfig != "", t.Contains != "", t.OneOf != nil, t.NotOff, t.Bool != nil} {
		if set {
			ops++
		}
	}
	if t.Kstrtobool && !t.NotOff {
		return nil, fmt.Errorf("%s: kstrtobool goes with not-off", n.label())
	}
	if ops != 1 {
		return nil, fmt.Errorf("%s: want exactly one of is, ge, is-kconfig, contains, one-of, not-off, bool (have %d)", n.label(), ops)
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
		case "present", "is present":
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
	case t.IsKconfig != "":
		n.op, n.value = opIsKconfig, strings.TrimPrefix(t.IsKconfig, "CONFIG_")
		if invalidNameByte(n.value) >= 0 {
			return nil, fmt.Errorf("%s: is-kconfig: invalid option name %q", n.label(), t.IsKconfig)
		}
	case t.Contains != "":
		n.op, n.value = opContains, t.Contains
	case t.NotOff:
		if n.kind != kindCmdline {
			return nil, fmt.Errorf("%s: not-off is for command-line parameters", n.label())
		}
		n.op = opNotOff
		if t.Kstrtobool {
			n.op = opNotFalse
		}
	case t.Bool != nil:
		if n.kind != kindCmdline {
			return nil, fmt.Errorf("%s: bool is for command-line parameters", n.label())
		}
		n.op = opFalse
		if *t.Bool {
			n.op = opTrue
		}
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

// first is the first option test, depth first: what the rule is about.
func (n *node) first() *node {
	if n.typ == nLeaf {
		return n
	}
	for _, k := range n.kids {
		if f := k.first(); f != nil {
			return f
		}
	}
	return nil
}

// primary is the input kind of the first option test.
func (n *node) primary() kind {
	if f := n.first(); f != nil {
		return f.kind
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
			return "version < " + n.lt.Short()
		case n.lt.IsZero():
			return "version >= " + n.ge.Short()
		}
		return "version >= " + n.ge.Short() + " and < " + n.lt.Short()
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
	case opIsKconfig:
		e = "= CONFIG_" + n.value
	case opContains:
		e = "contains " + n.value
	case opOneOf:
		e = "one of " + strings.Join(n.list, ", ")
	case opNotOff, opNotFalse:
		e = "is not off"
	case opTrue:
		e = "on"
	case opFalse:
		e = "off"
	}
	if top {
		return e
	}
	switch n.op {
	case opY, opM, opEq, opTrue, opFalse:
		return n.label() + "=" + e
	}
	return n.label() + " " + e
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
	Arch string
	// Version overrides the configuration's kernel version when not zero.
	Version Version
	Cmdline *Cmdline
	Sysctl  *Sysctl
	// Paths name the inputs in reports and findings.
	ConfigPath, CmdlinePath, SysctlPath string
}

// EffectiveArch is the architecture rules see: Arch, else the
// configuration's.
func (in *Input) EffectiveArch() string {
	if in.Arch != "" {
		return in.Arch
	}
	return in.Config.Arch
}

// EffectiveVersion is the kernel version rules see: Version, else the
// configuration's.
func (in *Input) EffectiveVersion() Version {
	if !in.Version.IsZero() {
		return in.Version
	}
	return in.Config.Version
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
	in      *Input
	arch    string
	version Version
	seen    []obs
	// noRef names a ge-kconfig reference the configuration lacks.
	noRef string
	// noVersion is set when a version test met an unknown version.
	noVersion bool
}

func (e *evaluator) eval(n *node) tri {
	switch n.typ {
	case nArch:
		if e.arch == "" {
			return tUnknown
		}
		return triOf(slices.Contains(n.list, e.arch))
	case nVersion:
		v := e.version
		if v.IsZero() {
			e.noVersion = true
			return tUnknown
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
	label := n.label()
	for _, o := range e.seen {
		if o.label == label {
			return
		}
	}
	e.seen = append(e.seen, obs{label: label, actual: actual, kind: n.kind, line: line, col: col})
}

func (e *evaluator) leaf(n *node) tri {
	var (
		val                  string
		set, quoted, mention bool
		line, col            int
		actual               string
	)
	switch n.kind {
	case kindKconfig:
		o, ok := e.in.Config.Options[n.name]
		line, mention = o.Line, ok
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
		line, col, mention = p.Line, p.Column, ok
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
		v, ok := e.in.Sysctl.Get(n.name)
		line, mention = v.Line, ok
		if ok {
			val, set, actual = v.Value, true, v.Value
		} else {
			actual = "absent"
		}
	}
	e.note(n, actual, line, col)
	switch n.op {
	case opY:
		return triOf(set && !quoted && val == "y")
	case opM:
		return triOf(set && !quoted && val == "m")
	case opNotSet:
		return triOf(!set)
	case opPresent:
		return triOf(mention)
	case opEq:
		return triOf(set && sameValue(val, n.value, quoted))
	case opGe:
		x, err := strconv.ParseInt(val, 0, 64)
		return triOf(set && !quoted && err == nil && x >= n.num)
	case opIsKconfig:
		ref, ok := e.in.Config.Options[n.value]
		limit, err := strconv.ParseInt(ref.Value, 0, 64)
		if !ok || ref.NotSet || ref.Quoted || err != nil {
			e.noRef = "CONFIG_" + n.value
			return tUnknown
		}
		x, err := strconv.ParseInt(val, 0, 64)
		return triOf(set && !quoted && err == nil && x == limit)
	case opContains:
		return triOf(set && listHas(val, n.value))
	case opOneOf:
		return triOf(set && slices.ContainsFunc(n.list, func(w string) bool { return sameValue(val, w, quoted) }))
	case opNotOff:
		// Given, and not switched off: "off" alone or in a list, or 0.
		return triOf(set && val != "0" && !listHas(val, "off"))
	case opNotFalse:
		b, isBool := kstrtobool(val)
		return triOf(set && !listHas(val, "off") && !(isBool && !b))
	case opTrue, opFalse:
		b, ok := kstrtobool(val)
		return triOf(set && ok && b == (n.op == opTrue))
	}
	return tFalse
}

// listHas reports whether the comma- or blank-separated list s has m.
func listHas(s, m string) bool {
	for len(s) > 0 {
		i := strings.IndexAny(s, ", ")
		var f string
		if i < 0 {
			f, s = s, ""
		} else {
			f, s = s[:i], s[i+1:]
		}
		if f == m {
			return true
		}
	}
	return false
}

// kstrtobool reads a boolean as the kernel's kstrtobool() (lib/kstrtox.c)
// does: by its first characters.
func kstrtobool(s string) (value, ok bool) {
	if s == "" {
		return false, false
	}
	switch s[0] {
	case 'y', 'Y', 't', 'T', '1':
		return true, true
	case 'n', 'N', 'f', 'F', '0':
		return false, true
	case 'o', 'O':
		if len(s) > 1 {
			switch s[1] {
			case 'n', 'N':
				return true, true
			case 'f', 'F':
				return false, true
			}
		}
	}
	return false, false
}

// sameValue compares values, numerically when both are integers (so that
// 0x0 equals 0); a quoted (string) value is never a number.
func sameValue(a, b string, quoted bool) bool {
	if a == b {
		return true
	}
	if quoted {
		return false
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
	// NotApplicable: the rule's when condition does not hold, or its
	// option does not exist in this kernel.
	NotApplicable Verdict = "n/a"
	// Skipped: the input the rule is about was not given.
	Skipped Verdict = "skip"
	// Muted: the rule fails but a profile muted it with a reason.
	Muted Verdict = "muted"
)

// Rule is a compiled rule.
type Rule struct {
	ID string
	// Profile is the profile that defined (or last overrode) the rule.
	Profile  string
	Category string
	Reason   string
	Source   string
	Severity check.Severity
	// Since and Until bound the kernel releases that have the rule's
	// option: it appeared in Since and was removed in Until (zero:
	// unbounded).
	Since, Until Version
	// Muted holds the reason a profile gave for muting the rule.
	Muted string
	when  *node
	test  *node
	// The rendered expected value, option column and input kind, computed
	// once (finish) rather than for every evaluation.
	expected, option, kind string
}

// finish renders what every evaluation of the rule reports.
func (r *Rule) finish() {
	r.expected = r.test.expected(r.test.typ == nLeaf)
	r.option = r.ID
	if r.test.typ == nLeaf {
		r.option = r.test.label()
	}
	switch r.test.primary() {
	case kindCmdline:
		r.kind = "cmdline"
	case kindSysctl:
		r.kind = "sysctl"
	default:
		r.kind = "kconfig"
	}
}

// Expected renders what the rule wants.
func (r *Rule) Expected() string { return r.expected }

// Option is the option column: the option of a single test, else the ID.
func (r *Rule) Option() string { return r.option }

// Subject is the option the rule is about: its first option test, as
// kernel-hardening-checker names a compound check (CONFIG_X, or a
// command-line or sysctl name), and that test's expected value.
func (r *Rule) Subject() (name, expected string) {
	f := r.test.first()
	if f == nil {
		return r.ID, r.Expected()
	}
	name = f.name
	switch f.kind {
	case kindKconfig:
		name = "CONFIG_" + f.name
	case kindSysctl:
		name = f.name
	}
	return name, f.expected(true)
}

// Kind is the input the rule is about: "kconfig", "cmdline" or "sysctl".
func (r *Rule) Kind() string { return r.kind }

// Result is the outcome of one rule on one input.
type Result struct {
	// Profile is the profile evaluated; From the one that defined the
	// rule, when another (an extended profile: khc-kspp inside khc).
	Profile  string         `json:"profile"`
	From     string         `json:"from,omitempty"`
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Category string         `json:"category,omitempty"`
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
	// Subject is the option the rule is about (its first option test),
	// SubjectFound its value and SubjectWant what the rule wants of it;
	// Compound says the rule has alternatives or further conditions.
	Subject      string `json:"-"`
	SubjectFound string `json:"-"`
	SubjectWant  string `json:"-"`
	Compound     bool   `json:"-"`
	// File, Line and Column locate the option that decided the result:
	// the configuration line, or the command-line or sysctl entry.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// Eval evaluates the rule. minVersion is the oldest kernel the profile
// accepts as legitimately lacking an option that appeared later (zero:
// any kernel may lack it): on an older kernel, a rule on an option from a
// later release fails unless it holds anyway, rather than being n/a.
func (r *Rule) Eval(in *Input, minVersion Version) Result {
	return r.eval(newEvaluator(in), minVersion)
}

func newEvaluator(in *Input) *evaluator {
	return &evaluator{in: in, arch: in.EffectiveArch(), version: in.EffectiveVersion(), seen: make([]obs, 0, 8)}
}

// eval evaluates the rule with e, which is reset first: one evaluator
// serves every rule of a report.
func (r *Rule) eval(e *evaluator, minVersion Version) Result {
	res := Result{Profile: r.Profile, From: r.Profile, ID: r.ID, Kind: r.Kind(), Category: r.Category, Option: r.Option(),
		Expected: r.Expected(), Reason: r.Reason, Source: r.Source, Severity: r.Severity, MuteReason: r.Muted,
		Compound: r.test.typ != nLeaf}
	e.seen, e.noRef, e.noVersion = e.seen[:0], "", false
	v := e.version
	if !r.Until.IsZero() && !v.IsZero() && !v.Less(r.Until) {
		res.Verdict = NotApplicable
		res.Note = fmt.Sprintf("applies only before Linux %s", r.Until.Short())
		e.eval(r.test)
		res.Actual = e.actual()
		return res
	}
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
	if p := r.test.primary(); !e.in.has(p) {
		res.Verdict = Skipped
		res.Note = "no " + kindFlag[p] + " given"
		e.eval(r.test)
		res.Actual = e.actual()
		return res
	}
	t := e.eval(r.test)
	res.Actual = e.actual()
	if f := r.test.first(); f != nil && len(e.seen) > 0 {
		res.Subject, res.SubjectFound, res.SubjectWant = f.label(), e.seen[0].actual, f.expected(true)
	}
	tooOld := !r.Since.IsZero() && !v.IsZero() && v.Less(r.Since)
	switch {
	case t == tTrue:
		res.Verdict = Pass
	case tooOld && (minVersion.IsZero() || !v.Less(minVersion)):
		res.Verdict = NotApplicable
		res.Note = fmt.Sprintf("the option exists since Linux %s", r.Since.Short())
		return res
	case tooOld:
		res.Verdict = Fail
		res.Note = fmt.Sprintf("Linux %s is older than the profile's minimum %s, and the option exists since %s", v.Short(), minVersion.Short(), r.Since.Short())
	case t == tUnknown && e.noRef != "":
		res.Verdict = NotApplicable
		res.Note = "cannot compare: the configuration has no " + e.noRef
		return res
	case t == tFalse:
		res.Verdict = Fail
	default:
		res.Verdict = Fail
		res.Note = "not satisfied by what was given; " + e.missing()
	}
	if res.Verdict == Fail && r.Muted != "" {
		res.Verdict = Muted
	}
	e.locate(&res, r.test.primary())
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
	switch {
	case len(flags) > 0:
		return "give " + strings.Join(flags, " and ") + " to decide"
	case e.noVersion:
		return "the kernel version is unknown: pass --kernel-version"
	}
	return "the architecture is unknown: pass --arch"
}

// locate points the result at the first observed option found in its
// input: the input the rule is about first, then the configuration.
func (e *evaluator) locate(res *Result, primary kind) {
	for _, k := range []kind{primary, kindKconfig, kindCmdline, kindSysctl} {
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
