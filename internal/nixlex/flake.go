package nixlex

import "strings"

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
	return shape, nil
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
