package sloc

import (
	"bytes"
	"path"
	"strings"
)

// Language is a language's syntax as tokei describes it in its
// languages.json: comment markers, string quotes and how files are
// recognised. The counter treats these markers exactly as tokei does, with
// tokei's simplifications (Go's raw strings and rune literals and Rust's
// char literals are not quotes to tokei, Nix's indented strings are not
// either).
type Language struct {
	Name           string
	LineComments   []string
	MultiComments  [][2]string
	NestedComments [][2]string
	// Nested is true when multi-line comments nest (Rust).
	Nested          bool
	Quotes          [][2]string
	VerbatimQuotes  [][2]string
	DocQuotes       [][2]string
	ImportantSyntax []string
	// Literate languages count every non-blank line as a comment.
	Literate   bool
	Extensions []string
	Filenames  []string
	Shebangs   []string
	Env        []string
	// Source is false for languages that are only counted inside others
	// (Markdown in Rust doc comments, TOML in a doc example).
	Source bool

	family    family
	important [][]byte
}

type family int

const (
	plainFamily family = iota
	rustFamily
	markdownFamily
)

var dq = [2]string{`"`, `"`}
var sq = [2]string{`'`, `'`}
var cComment = [][2]string{{"/*", "*/"}}

// languages follows tokei's languages.json (v13) for the languages nixgate
// counts. The order is tokei's key order, which decides shebang matches.
var languages = []*Language{
	{Name: "BASH", LineComments: []string{"#"}, Quotes: [][2]string{dq, sq},
		Shebangs: []string{"#!/bin/bash"}, Env: []string{"bash"}, Extensions: []string{"bash"}, Source: true},
	{Name: "C", LineComments: []string{"//"}, MultiComments: cComment, Quotes: [][2]string{dq},
		Extensions: []string{"c", "ec", "pgc"}, Source: true},
	{Name: "C Header", LineComments: []string{"//"}, MultiComments: cComment, Quotes: [][2]string{dq},
		Extensions: []string{"h"}, Source: true},
	{Name: "C++", LineComments: []string{"//"}, MultiComments: cComment, Quotes: [][2]string{dq},
		VerbatimQuotes: [][2]string{{`R"(`, `)"`}}, Extensions: []string{"cc", "cpp", "cxx", "c++", "pcc", "tpp"}, Source: true},
	{Name: "C++ Header", LineComments: []string{"//"}, MultiComments: cComment, Quotes: [][2]string{dq},
		Extensions: []string{"hh", "hpp", "hxx", "inl", "ipp"}, Source: true},
	{Name: "Go", LineComments: []string{"//"}, MultiComments: cComment, Quotes: [][2]string{dq},
		Extensions: []string{"go"}, Source: true},
	{Name: "JSON", Extensions: []string{"json"}},
	{Name: "Markdown", Literate: true, ImportantSyntax: []string{"```"}, Extensions: []string{"md", "markdown"}, family: markdownFamily},
	{Name: "Nix", LineComments: []string{"#"}, MultiComments: cComment, Quotes: [][2]string{dq},
		Extensions: []string{"nix"}, Source: true},
	{Name: "Python", LineComments: []string{"#"}, DocQuotes: [][2]string{{`"""`, `"""`}, {`'''`, `'''`}},
		Quotes: [][2]string{dq, sq}, Env: []string{"python", "python2", "python3"}, Extensions: []string{"py", "pyw", "pyi"}, Source: true},
	{Name: "Rust", LineComments: []string{"//"}, MultiComments: cComment, Nested: true,
		ImportantSyntax: []string{"///", "//!"}, Quotes: [][2]string{dq, {`#"`, `"#`}},
		VerbatimQuotes: [][2]string{{`r##"`, `"##`}, {`r#"`, `"#`}}, Extensions: []string{"rs"}, Source: true, family: rustFamily},
	{Name: "Shell", LineComments: []string{"#"}, Quotes: [][2]string{dq, sq},
		Shebangs: []string{"#!/bin/sh"}, Env: []string{"sh"}, Extensions: []string{"sh"}, Source: true},
	{Name: "TOML", LineComments: []string{"#"}, Quotes: [][2]string{dq, sq, {`"""`, `"""`}, {`'''`, `'''`}},
		Extensions: []string{"toml"}},
	{Name: "YAML", LineComments: []string{"#"}, Quotes: [][2]string{dq, sq}, Extensions: []string{"yaml", "yml"}},
	{Name: "Zsh", LineComments: []string{"#"}, Quotes: [][2]string{dq, sq},
		Shebangs: []string{"#!/bin/zsh"}, Env: []string{"zsh"}, Extensions: []string{"zsh"}, Source: true},
}

var markdown *Language

func init() {
	for _, l := range languages {
		var imp []string
		for _, q := range l.Quotes {
			imp = append(imp, q[0])
		}
		for _, q := range l.DocQuotes {
			imp = append(imp, q[0])
		}
		for _, q := range l.MultiComments {
			imp = append(imp, q[0])
		}
		for _, q := range l.NestedComments {
			imp = append(imp, q[0])
		}
		imp = append(imp, l.ImportantSyntax...)
		for _, s := range imp {
			l.important = append(l.important, []byte(s))
		}
		if l.Name == "Markdown" {
			markdown = l
		}
	}
}

// Languages lists the languages the counter knows that count as source.
func Languages() []*Language {
	var out []*Language
	for _, l := range languages {
		if l.Source {
			out = append(out, l)
		}
	}
	return out
}

// ByName finds a language by its name, case-insensitively, the way tokei
// reads the language of a Markdown code fence.
func ByName(name string) *Language {
	for _, l := range languages {
		if strings.EqualFold(l.Name, name) {
			return l
		}
	}
	return nil
}

// Detect finds the source language of a file the way tokei does: by file
// name, then by extension, and for files without an extension by the
// shebang in head (the first bytes of the file). Nil when the file is not
// source nixgate counts.
func Detect(name string, head []byte) *Language {
	base := strings.ToLower(path.Base(name))
	for _, l := range languages {
		for _, f := range l.Filenames {
			if base == f {
				return source(l)
			}
		}
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		ext := base[i+1:]
		for _, l := range languages {
			for _, e := range l.Extensions {
				if ext == e {
					return source(l)
				}
			}
		}
		return nil
	}
	return fromShebang(head)
}

func source(l *Language) *Language {
	if l.Source {
		return l
	}
	return nil
}

func fromShebang(head []byte) *Language {
	if len(head) > 128 {
		head = head[:128]
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	words := strings.Fields(string(first))
	if len(words) == 0 {
		return nil
	}
	for _, l := range languages {
		for _, s := range l.Shebangs {
			if words[0] == s {
				return source(l)
			}
		}
	}
	if words[0] != "#!/usr/bin/env" || len(words) < 2 {
		return nil
	}
	for _, l := range languages {
		for _, e := range l.Env {
			if strings.HasPrefix(words[1], e) {
				return source(l)
			}
		}
	}
	return nil
}
