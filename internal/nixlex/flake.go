package nixlex

import (
	"slices"
	"strings"
)

// FlakeShape is what a static read of a flake.nix tells, without
// evaluating it.
type FlakeShape struct {
	// HasInputs is false for a flake that declares no inputs and whose
	// outputs function takes none (no `inputs`, outputs = { self }: or _:).
	HasInputs bool
	// Templates are the paths (as written, e.g. "./templates/rust") of the
	// flake's `templates` output: the directories `nix flake init -t`
	// copies, whose flake.nix must not carry a lock.
	Templates []string
	// Inputs maps each input the flake declares in the usual forms
	// (inputs.X.url = "…", inputs = { X.url = "…"; }, inputs.X = { … })
	// to its URL; "" for one with no url (a registry lookup, or follows).
	Inputs map[string]string
	// Follows lists the inputs declared as inputs.X.follows = "…".
	Follows []string
	// OnlyRelative is true when every input is a relative path into the
	// same repository (path:../.., ./sub) or follows another: the
	// repository's own lock pins what such a flake reaches.
	OnlyRelative bool
}

// ReadFlake reads a flake.nix's shape from its tokens. When the file is
// not the plain attribute set a flake usually is, HasInputs stays true:
// the caller then assumes the flake needs a lock.
func ReadFlake(src string) (FlakeShape, error) {
	toks, err := Lex(src)
	if err != nil {
		return FlakeShape{HasInputs: true}, err
	}
	code := Code(toks)
	shape := FlakeShape{HasInputs: true}
	isOp := func(i int, s string) bool { return i < len(code) && code[i].Kind == Op && code[i].Text == s }
	// Template paths, anywhere: templates = { x = { path = ./p; }; },
	// templates.x.path = ./p; templates.x = { path = ./p; }.
	for i := 0; i < len(code); i++ {
		if code[i].Kind != Ident || code[i].Text != "templates" || (i > 0 && (isOp(i-1, ".") || isOp(i-1, "?"))) {
			continue
		}
		j := i + 1
		last := "templates"
		for isOp(j, ".") && j+1 < len(code) && code[j+1].Kind == Ident {
			last = code[j+1].Text
			j += 2
		}
		if !isOp(j, "=") {
			continue
		}
		j++
		if last == "path" && j < len(code) && code[j].Kind == Path {
			shape.Templates = append(shape.Templates, code[j].Text)
			continue
		}
		if !isOp(j, "{") {
			continue
		}
		depth := 0
		for k := j; k < len(code); k++ {
			switch {
			case isOp(k, "{") || isOp(k, "(") || isOp(k, "["):
				depth++
			case isOp(k, "}") || isOp(k, ")") || isOp(k, "]"):
				depth--
			case code[k].Kind == Ident && code[k].Text == "path" && isOp(k+1, "=") && k+2 < len(code) && code[k+2].Kind == Path:
				shape.Templates = append(shape.Templates, code[k+2].Text)
			}
			if depth == 0 {
				i = k
				break
			}
		}
	}
	// Inputs: only judged for the usual shape, one attribute set.
	if len(code) == 0 || !isOp(0, "{") {
		return shape, nil
	}
	depth := 0
	atStart := true
	inputs, outputsArgs := false, false
	known := true
	for i := 0; i < len(code); i++ {
		t := code[i]
		switch {
		case t.Kind == Op && (t.Text == "{" || t.Text == "(" || t.Text == "["), t.Kind == InterpOpen:
			depth++
			atStart = depth == 1
			continue
		case t.Kind == Op && (t.Text == "}" || t.Text == ")" || t.Text == "]"), t.Kind == InterpClose:
			depth--
			continue
		case depth == 1 && t.Kind == Op && t.Text == ";":
			atStart = true
			continue
		}
		if depth != 1 || !atStart {
			continue
		}
		atStart = false
		switch {
		case t.Kind == Ident && t.Text == "inputs":
			inputs = true
		case t.Kind == Ident && t.Text == "outputs" && isOp(i+1, "="):
			j := i + 2
			if j+1 < len(code) && code[j].Kind == Ident && isOp(j+1, "@") { // inputs@{ ... }:
				j += 2
			}
			switch {
			case isOp(j, "{"):
				for k := j + 1; k < len(code) && !isOp(k, "}"); k++ {
					if code[k].Kind == Ident && code[k].Text != "self" && (k == j+1 || isOp(k-1, ",")) {
						outputsArgs = true
					}
					if isOp(k, "{") || isOp(k, "(") { // a default value with structure
						known = false
						break
					}
				}
			case j < len(code) && code[j].Kind == Ident && isOp(j+1, ":"):
				// outputs = _: ... or outputs = inputs: ...; a plain name
				// receives every input, declared ones only.
			default:
				known = false
			}
		case t.Kind == StrOpen || t.Kind == InterpOpen:
			known = false // "inputs" = ... or ${...} = ...
		}
	}
	if known {
		shape.HasInputs = inputs || outputsArgs
	}
	shape.Inputs, shape.Follows = readInputs(code)
	shape.OnlyRelative = len(shape.Inputs) > 0
	for name, url := range shape.Inputs {
		if !RelativeURL(url) && !slices.Contains(shape.Follows, name) {
			shape.OnlyRelative = false
		}
	}
	return shape, nil
}

// RelativeURL reports a flake reference to a relative path (path:./x,
// path:../.., ./x, ../x): a subflake or the parent flake of the same
// repository, which Nix does not lock by itself.
func RelativeURL(url string) bool {
	u := strings.TrimPrefix(url, "path:")
	return u == "." || u == ".." || strings.HasPrefix(u, "./") || strings.HasPrefix(u, "../")
}

// readInputs reads the string values of the top-level inputs attribute of
// a flake's attribute set: input name to url, and the names that follow
// another input. Other shapes give an empty map (the caller then assumes
// the usual lock is needed).
func readInputs(code []Token) (map[string]string, []string) {
	inputs := map[string]string{}
	var follows []string
	isOp := func(i int, s string) bool { return i < len(code) && code[i].Kind == Op && code[i].Text == s }
	// skip returns the index after the value starting at i (at depth 0
	// relative to i), stopping at the ";" that ends it.
	skip := func(i int) int {
		depth := 0
		for ; i < len(code); i++ {
			switch {
			case code[i].Kind == InterpOpen || isOp(i, "{") || isOp(i, "(") || isOp(i, "["):
				depth++
			case code[i].Kind == InterpClose || isOp(i, "}") || isOp(i, ")") || isOp(i, "]"):
				depth--
				if depth < 0 {
					return i
				}
			case depth == 0 && isOp(i, ";"):
				return i
			}
		}
		return i
	}
	var set func(i int, prefix []string) int
	set = func(i int, prefix []string) int {
		// i is just after "{"; read `attrpath = value;` until "}".
		for i < len(code) && !isOp(i, "}") {
			var path []string
			for i < len(code) && code[i].Kind == Ident {
				path = append(path, code[i].Text)
				i++
				if !isOp(i, ".") {
					break
				}
				i++
			}
			if len(path) == 0 || !isOp(i, "=") {
				return skip(i) + 1 // inherit, a quoted name, …: not followed
			}
			i++
			full := append(append([]string{}, prefix...), path...)
			switch {
			case i+2 < len(code) && code[i].Kind == StrOpen && code[i+1].Kind == StrText && code[i+2].Kind == StrClose:
				if len(full) == 3 && full[0] == "inputs" {
					switch full[2] {
					case "url":
						inputs[full[1]] = code[i+1].Text
					case "follows":
						follows = append(follows, full[1])
					}
				}
				i += 3
			case isOp(i, "{") && (len(full) == 0 || full[0] == "inputs"):
				i = set(i+1, full) + 1
			default:
				i = skip(i)
			}
			if len(full) >= 2 && full[0] == "inputs" {
				if _, ok := inputs[full[1]]; !ok {
					inputs[full[1]] = ""
				}
			}
			if isOp(i, ";") {
				i++
			}
		}
		return i
	}
	if !isOp(0, "{") {
		return map[string]string{}, nil
	}
	set(1, nil)
	slices.Sort(follows)
	return inputs, follows
}

// JoinPath joins a template path as written in flake.nix ("./templates/x",
// "templates/x") to the directory of the flake.nix, slash-separated.
func JoinPath(dir, p string) string {
	p = strings.TrimPrefix(p, "./")
	if dir == "." || dir == "" {
		return strings.TrimSuffix(p, "/")
	}
	return strings.TrimSuffix(dir+"/"+p, "/")
}
