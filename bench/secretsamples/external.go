package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/secrets/samples"
)

// externalClasses maps trufflehog detector directories to the classes of
// the sample set.
var externalClasses = map[string]string{
	"github/v1": "github-classic", "github/v2": "github-classic", "github_oauth2": "github-oauth",
	"aws/access_keys": "aws", "aws/session_keys": "aws", "gcp": "gcp", "gcpapplicationdefaultcredentials": "gcp",
	"azure_entra/serviceprincipal/v2": "azure", "azure_storage": "azure", "azuredevopspersonalaccesstoken": "azure", "azuresastoken": "azure",
	"slack": "slack", "slackwebhook": "slack", "stripe": "stripe", "telegrambottoken": "telegram",
	"discordbottoken": "discord", "discordwebhook": "discord", "heroku/v1": "heroku", "heroku/v2": "heroku",
	"npmtoken": "npm", "npmtokenv2": "npm", "pypi": "pypi", "docker": "docker", "jwt": "jwt", "privatekey": "private-key",
	"uri": "generic", "ftp": "generic", "redis": "generic", "postgres": "generic", "mongodb": "generic",
}

// external writes, as a second labelled set, the inputs of trufflehog's
// detector pattern tests (the module's *_test.go files, read from the
// module cache at bench time; nothing of it is kept in this repository):
// an input whose test wants results is a positive, one that wants none a
// negative. Inputs built by expressions other than string literals,
// constants and fmt.Sprintf of those are left out.
func external(dir, module string) error {
	var set []samples.Sample
	for sub, class := range externalClasses {
		files, _ := filepath.Glob(filepath.Join(module, "pkg", "detectors", sub, "*_test.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_integration_test.go") {
				continue
			}
			cases, err := patternCases(f)
			if err != nil {
				return err
			}
			for i, c := range cases {
				kind := "neg"
				if c.positive {
					kind = "pos"
				}
				set = append(set, samples.Sample{
					Name:     fmt.Sprintf("%s/%s-%s-%03d.txt", class, strings.ReplaceAll(sub, "/", "-"), kind, i+1),
					Class:    class,
					Positive: c.positive,
					Source:   "trufflehog v3.97.0 pkg/detectors/" + sub + " pattern test " + strconv.Quote(c.name),
					Content:  c.input + "\n",
				})
			}
		}
	}
	if err := samples.Write(dir, set); err != nil {
		return err
	}
	npos := 0
	for _, s := range set {
		if s.Positive {
			npos++
		}
	}
	fmt.Fprintf(os.Stderr, "secretsamples: %d trufflehog pattern-test inputs (%d positive) in %s\n", len(set), npos, dir)
	return nil
}

type patternCase struct {
	name, input string
	positive    bool
}

// patternCases reads the {name, input, want} literals of a test file.
func patternCases(file string) ([]patternCase, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		return nil, err
	}
	consts := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if s, ok := stringValue(vs.Values[i], consts); ok {
						consts[name.Name] = s
					}
				}
			}
		}
		return true
	})
	var out []patternCase
	ast.Inspect(f, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var c patternCase
		var haveInput, haveWant bool
		for _, e := range cl.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			if !ok {
				continue
			}
			switch key.Name {
			case "name":
				c.name, _ = stringValue(kv.Value, consts)
			case "input":
				c.input, haveInput = stringValue(kv.Value, consts)
			case "want":
				haveWant = true
				if w, ok := kv.Value.(*ast.CompositeLit); ok {
					c.positive = len(w.Elts) > 0
				}
			}
		}
		if haveInput && haveWant && strings.TrimSpace(c.input) != "" {
			out = append(out, c)
		}
		return true
	})
	return out, nil
}

// stringValue evaluates string literals, known constants, concatenations
// and fmt.Sprintf of those.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[v.Name]
		return s, ok
	case *ast.BinaryExpr:
		if v.Op == token.ADD {
			a, ok1 := stringValue(v.X, consts)
			b, ok2 := stringValue(v.Y, consts)
			return a + b, ok1 && ok2
		}
	case *ast.CallExpr:
		sel, ok := v.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Sprintf" || len(v.Args) == 0 {
			return "", false
		}
		format, ok := stringValue(v.Args[0], consts)
		if !ok {
			return "", false
		}
		var args []any
		for _, a := range v.Args[1:] {
			s, ok := stringValue(a, consts)
			if !ok {
				return "", false
			}
			args = append(args, s)
		}
		return fmt.Sprintf(format, args...), true
	}
	return "", false
}
