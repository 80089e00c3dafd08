// Package sarifschema validates SARIF logs against the OASIS SARIF 2.1.0
// JSON schema, for tests: the schema is the one github.com/owenrumney/go-sarif
// ships in its sources (found in the module cache with `go list -m`), the
// same one internal/report's tests use.
package sarifschema

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	// Keeps go-sarif, and so the schema, in go.mod.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

var (
	once   sync.Once
	schema *jsonschema.Schema
	errLd  error
)

func load() (*jsonschema.Schema, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/owenrumney/go-sarif/v3").Output()
	if err != nil {
		return nil, fmt.Errorf("locate go-sarif: %w", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "pkg/report/v210/sarif/schema.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		return nil, err
	}
	var text string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "schema" {
			text, err = strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		}
		return true
	})
	if text == "" || err != nil {
		return nil, fmt.Errorf("no schema constant in %s: %v", src, err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("sarif-schema-2.1.0.json")
}

// Validate checks a SARIF log against the schema.
func Validate(data []byte) error {
	once.Do(func() { schema, errLd = load() })
	if errLd != nil {
		return errLd
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return schema.Validate(doc)
}
