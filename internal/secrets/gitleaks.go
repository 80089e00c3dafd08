package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Config is a rule set read from a gitleaks-format file.
type Config struct {
	Rules      []*Rule
	Allowlists []Allowlist
	// Warnings name what nixgate reads differently from gitleaks.
	Warnings []string
}

type glConfig struct {
	Title      string        `toml:"title"`
	MinVersion string        `toml:"minVersion"`
	Extend     glExtend      `toml:"extend"`
	Rules      []glRule      `toml:"rules"`
	Allowlist  *glAllowlist  `toml:"allowlist"`
	Allowlists []glAllowlist `toml:"allowlists"`
}

type glExtend struct {
	Path          string   `toml:"path"`
	URL           string   `toml:"url"`
	UseDefault    bool     `toml:"useDefault"`
	DisabledRules []string `toml:"disabledRules"`
}

type glRule struct {
	ID          string        `toml:"id"`
	Description string        `toml:"description"`
	Regex       string        `toml:"regex"`
	Path        string        `toml:"path"`
	SecretGroup int           `toml:"secretGroup"`
	Entropy     float64       `toml:"entropy"`
	Keywords    []string      `toml:"keywords"`
	Tags        []string      `toml:"tags"`
	Allowlist   *glAllowlist  `toml:"allowlist"`
	Allowlists  []glAllowlist `toml:"allowlists"`
	Required    []struct {
		ID string `toml:"id"`
	} `toml:"required"`
	SkipReport bool `toml:"skipReport"`
}

type glAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
	TargetRules []string `toml:"targetRules"`
}

// maxExtendDepth bounds chains of [extend] path.
const maxExtendDepth = 3

// LoadGitleaks reads a gitleaks configuration (.gitleaks.toml). An
// `[extend] useDefault = true` extends nixgate's default rules (not
// gitleaks' own); `[extend] path` is read with readFile. Rules with the
// ID of an extended rule refine it as gitleaks does: a new regex, path,
// entropy or secret group replaces the old one, keywords and allowlists
// are added.
func LoadGitleaks(name string, data []byte, readFile func(string) ([]byte, error)) (*Config, error) {
	return loadGitleaks(name, data, readFile, 0)
}

func loadGitleaks(name string, data []byte, readFile func(string) ([]byte, error), depth int) (*Config, error) {
	var gc glConfig
	if err := decodeTOML(data, &gc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", name, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg := &Config{}
	// The base this file extends.
	if gc.Extend.URL != "" {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s: [extend] url is not fetched; extend a local path instead", name))
	}
	switch {
	case gc.Extend.UseDefault:
		cfg.Rules = DefaultRules()
		cfg.Allowlists = DefaultAllowlists()
	case gc.Extend.Path != "":
		if depth >= maxExtendDepth {
			return nil, fmt.Errorf("%s: [extend] path: more than %d levels", name, maxExtendDepth)
		}
		if readFile == nil {
			return nil, fmt.Errorf("%s: [extend] path %s: no file access", name, gc.Extend.Path)
		}
		b, err := readFile(gc.Extend.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: [extend] path: %w", name, err)
		}
		base, err := loadGitleaks(gc.Extend.Path, b, readFile, depth+1)
		if err != nil {
			return nil, err
		}
		cfg.Rules, cfg.Allowlists, cfg.Warnings = base.Rules, base.Allowlists, append(cfg.Warnings, base.Warnings...)
	}
	if len(gc.Extend.DisabledRules) > 0 {
		cfg.Rules = slices.DeleteFunc(cfg.Rules, func(r *Rule) bool { return slices.Contains(gc.Extend.DisabledRules, r.ID) })
	}
	byID := map[string]*Rule{}
	for _, r := range cfg.Rules {
		byID[r.ID] = r
	}
	for i, gr := range gc.Rules {
		where := fmt.Sprintf("%s: rules[%d] (%s)", name, i, gr.ID)
		if gr.ID == "" {
			return nil, fmt.Errorf("%s: rules[%d]: missing id", name, i)
		}
		if len(gr.Required) > 0 {
			cfg.Warnings = append(cfg.Warnings, where+": composite rules ([[rules.required]]) are read as standalone rules")
		}
		if gr.SkipReport {
			continue
		}
		r := byID[gr.ID]
		isNew := r == nil
		if isNew {
			r = &Rule{ID: gr.ID}
		}
		if gr.Description != "" {
			r.Description = gr.Description
		} else if r.Description == "" {
			r.Description = gr.ID // as gitleaks names a rule without one
		}
		if gr.Regex != "" {
			re, err := regexp.Compile(gr.Regex)
			if err != nil {
				return nil, fmt.Errorf("%s: regex: %w", where, err)
			}
			r.Regex = re
			r.Verify = nil // a new regex finds new shapes: the old check no longer applies
		}
		if gr.Path != "" {
			re, err := regexp.Compile(gr.Path)
			if err != nil {
				return nil, fmt.Errorf("%s: path: %w", where, err)
			}
			r.Path = re
		}
		if gr.SecretGroup != 0 {
			r.SecretGroup = gr.SecretGroup
		}
		if gr.Entropy != 0 {
			r.Entropy = gr.Entropy
		}
		r.Keywords = append(r.Keywords, gr.Keywords...)
		lists := gr.Allowlists
		if gr.Allowlist != nil {
			lists = append([]glAllowlist{*gr.Allowlist}, lists...)
		}
		for j, ga := range lists {
			a, err := ga.compile()
			if err != nil {
				return nil, fmt.Errorf("%s: allowlists[%d]: %w", where, j, err)
			}
			r.Allowlists = append(r.Allowlists, a)
		}
		if r.Regex == nil && r.Path == nil {
			return nil, fmt.Errorf("%s: neither regex nor path", where)
		}
		if r.Regex != nil && r.SecretGroup > r.Regex.NumSubexp() {
			return nil, fmt.Errorf("%s: secretGroup %d but the regex has %d groups", where, r.SecretGroup, r.Regex.NumSubexp())
		}
		// As in gitleaks, a generic rule's finding yields to another
		// rule's finding on the same text.
		r.Generic = r.Generic || strings.HasPrefix(r.ID, "generic")
		if isNew {
			byID[r.ID] = r
			cfg.Rules = append(cfg.Rules, r)
		}
	}
	globals := gc.Allowlists
	if gc.Allowlist != nil {
		globals = append([]glAllowlist{*gc.Allowlist}, globals...)
	}
	for j, ga := range globals {
		a, err := ga.compile()
		if err != nil {
			return nil, fmt.Errorf("%s: allowlists[%d]: %w", name, j, err)
		}
		if len(ga.TargetRules) == 0 {
			cfg.Allowlists = append(cfg.Allowlists, a)
			continue
		}
		for _, id := range ga.TargetRules {
			if r := byID[id]; r != nil {
				r.Allowlists = append(r.Allowlists, a)
			} else {
				cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s: allowlists[%d]: targetRules: no rule %q", name, j, id))
			}
		}
	}
	return cfg, nil
}

func (ga glAllowlist) compile() (Allowlist, error) {
	a := Allowlist{Description: ga.Description, Condition: strings.ToUpper(ga.Condition), Commits: ga.Commits,
		RegexTarget: ga.RegexTarget, StopWords: ga.StopWords}
	switch a.Condition {
	case "", "OR", "AND":
	default:
		return a, fmt.Errorf("condition %q: want OR or AND", ga.Condition)
	}
	switch a.RegexTarget {
	case "", "secret", "match", "line":
	default:
		return a, fmt.Errorf("regexTarget %q: want secret, match or line", ga.RegexTarget)
	}
	for _, p := range ga.Paths {
		re, err := regexp.Compile(p)
		if err != nil {
			return a, fmt.Errorf("paths: %w", err)
		}
		a.Paths = append(a.Paths, re)
	}
	for _, p := range ga.Regexes {
		re, err := regexp.Compile(p)
		if err != nil {
			return a, fmt.Errorf("regexes: %w", err)
		}
		a.Regexes = append(a.Regexes, re)
	}
	return a, nil
}

// NewRulesetFromGitleaks compiles a gitleaks-format configuration.
func NewRulesetFromGitleaks(name string, data []byte, readFile func(string) ([]byte, error)) (*Ruleset, []string, error) {
	cfg, err := LoadGitleaks(name, data, readFile)
	if err != nil {
		return nil, nil, err
	}
	rs, err := NewRuleset(cfg.Rules, cfg.Allowlists)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	rs.GitleaksAllow = true
	return rs, cfg.Warnings, nil
}

// decodeTOML decodes data, turning a panic of the decoder (go-toml v2.2.4
// panics on some malformed array tables, such as "[[rules.0]]0") into an
// error.
func decodeTOML(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed TOML: %v", r)
		}
	}()
	return toml.NewDecoder(bytes.NewReader(data)).Decode(v)
}
