package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/lazyre"
)

// Manifest is a Kubernetes object that holds secrets: a Secret, a
// SealedSecret or a kubeconfig.
type Manifest struct {
	Path      string
	Kind      string // "Secret", "SealedSecret" or "Config"
	Name      string
	Namespace string
	Line      int // of its kind: field
	// Literal is true when the object holds at least one value that is
	// neither empty, nor a template expression, nor sops ciphertext.
	Literal bool
	// Encrypted is true for a sops-encrypted object (a sops metadata
	// block, ENC[…] values): its values are ciphertext.
	Encrypted bool
	// Keys are the names of its literal values (data, stringData, token...).
	Keys []string
	// Commit, in a history scan, is the commit that added it, and Found
	// the text of its kind line and the line above there.
	Commit string
	Found  *check.FoundLines
}

// Kube is what a YAML file says about Kubernetes secrets.
type Kube struct {
	Manifests []Manifest
	// Findings are secrets found inside decoded values.
	Findings []Finding
	skip     map[int]bool
}

// Skip reports whether a line holds an encoded value (base64 data, sealed
// ciphertext) that is scanned decoded, or not at all, instead of raw.
func (k *Kube) Skip(line int) bool { return k != nil && k.skip[line] }

// LooksKubernetes reports whether content may hold Kubernetes objects worth
// parsing: a YAML or JSON file (or a kubeconfig) naming a kind and an
// apiVersion, however quoted.
func LooksKubernetes(path string, head []byte) bool {
	if !KubeName(path) {
		return false
	}
	return bytes.Contains(head, []byte("kind")) && bytes.Contains(head, []byte("apiVersion"))
}

// KubeName reports whether a file's name allows Kubernetes objects: YAML,
// JSON, a kubeconfig.
func KubeName(p string) bool {
	p = strings.ToLower(p)
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json") ||
		strings.Contains(p, "kubeconfig") || p == "config" || strings.HasSuffix(p, "/config")
}

var templateRe = lazyre.New(`\{\{.*?\}\}`)

const templated = "__nixgate_templated__"

// Kubernetes parses a (multi-document) YAML file and reports its secret
// objects, and the secrets inside their decoded values. A file that is not
// YAML yields an error.
func (rs *Ruleset) Kubernetes(path string, data []byte) (*Kube, error) {
	docs, err := parseYAML(data)
	if err != nil {
		// Helm and other templates are not YAML until rendered: read them
		// with each {{ expression }} replaced by a marker.
		if !templateRe().Match(data) {
			return nil, err
		}
		docs, err = parseYAML(templateRe().ReplaceAll(data, []byte(templated)))
		if err != nil {
			return nil, err
		}
	}
	k := &Kube{skip: map[int]bool{}}
	sc := rs.NewScanner()
	for _, doc := range docs {
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		k.object(sc, path, root, sopsEncrypted(root), 0)
	}
	return k, nil
}

// maxListDepth bounds nested List objects.
const maxListDepth = 4

// object reads one Kubernetes object, or the items of a List.
func (k *Kube) object(sc *Scanner, path string, root *yaml.Node, encrypted bool, depth int) {
	kindNode := get(root, "kind")
	if kindNode == nil || kindNode.Kind != yaml.ScalarNode || get(root, "apiVersion") == nil {
		return
	}
	m := Manifest{Path: path, Kind: kindNode.Value, Line: kindNode.Line, Encrypted: encrypted}
	if md := get(root, "metadata"); md != nil {
		m.Name = scalar(get(md, "name"))
		m.Namespace = scalar(get(md, "namespace"))
	}
	switch {
	case m.Kind == "Secret":
		k.values(sc, &m, get(root, "data"), "data", true)
		k.values(sc, &m, get(root, "stringData"), "stringData", false)
	case m.Kind == "SealedSecret":
		spec := get(root, "spec")
		if enc := get(spec, "encryptedData"); enc != nil && enc.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(enc.Content); i += 2 {
				k.skipValue(enc.Content[i+1])
			}
		}
		if tpl := get(spec, "template"); tpl != nil {
			if md := get(tpl, "metadata"); md != nil {
				if n := scalar(get(md, "name")); n != "" {
					m.Name = n
				}
				if ns := scalar(get(md, "namespace")); ns != "" {
					m.Namespace = ns
				}
			}
			// Template data is not encrypted: a value there is a leak.
			k.values(sc, &m, get(tpl, "data"), "spec.template.data", true)
			k.values(sc, &m, get(tpl, "stringData"), "spec.template.stringData", false)
		}
	case m.Kind == "Config":
		users := get(root, "users")
		if users == nil || users.Kind != yaml.SequenceNode {
			return
		}
		for _, u := range users.Content {
			user := get(u, "user")
			if user == nil || user.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(user.Content); i += 2 {
				key, v := user.Content[i].Value, user.Content[i+1]
				if v.Kind != yaml.ScalarNode || !isLiteral(v.Value) {
					continue
				}
				switch key {
				case "token", "password":
					m.Literal = true
					m.Keys = append(m.Keys, "users."+key)
					k.Findings = append(k.Findings, Finding{RuleID: "kubeconfig-credential", Description: "credential in a kubeconfig",
						Path: path, Line: v.Line, Column: v.Column, Secret: v.Value, Severity: check.Critical, Note: "users[].user." + key,
						Context: "kubeconfig users[].user." + key})
				case "client-key-data":
					m.Literal = true
					m.Keys = append(m.Keys, "users."+key)
					k.decodeScan(sc, path, v, "users[].user."+key)
				}
			}
		}
	case strings.HasSuffix(m.Kind, "List") && depth < maxListDepth:
		if items := get(root, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				if it.Kind == yaml.MappingNode {
					k.object(sc, path, it, encrypted, depth+1)
				}
			}
		}
		return
	default:
		return
	}
	k.Manifests = append(k.Manifests, m)
}

// sopsEncrypted reports whether a document carries sops metadata: a
// top-level sops mapping with a mac, lastmodified or recipients.
func sopsEncrypted(root *yaml.Node) bool {
	sops := get(root, "sops")
	if sops == nil || sops.Kind != yaml.MappingNode {
		return false
	}
	for _, key := range []string{"mac", "lastmodified", "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault"} {
		if get(sops, key) != nil {
			return true
		}
	}
	return false
}

func parseYAML(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// values reads a data (base64) or stringData (plain) mapping.
func (k *Kube) values(sc *Scanner, m *Manifest, n *yaml.Node, field string, encoded bool) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			continue
		}
		if isSopsValue(v.Value) {
			k.skipValue(v) // ciphertext
			continue
		}
		if isLiteral(v.Value) {
			m.Literal = true
			m.Keys = append(m.Keys, field+"."+key)
		}
		if !encoded {
			continue // plain text: the raw scan sees it
		}
		k.skipValue(v)
		if isLiteral(v.Value) {
			k.decodeScan(sc, m.Path, v, field+"."+key)
		}
	}
}

// isSopsValue reports whether a value is sops ciphertext:
// ENC[AES256_GCM,data:…,iv:…,tag:…,type:…].
func isSopsValue(v string) bool {
	return strings.HasPrefix(strings.TrimSpace(v), "ENC[")
}

func isLiteral(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !strings.Contains(v, templated) && !strings.Contains(v, "{{") && v != "null" && v != "~"
}

func (k *Kube) skipValue(v *yaml.Node) {
	lines := strings.Count(strings.TrimRight(v.Value, "\n"), "\n")
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		lines++
	}
	for l := v.Line; l <= v.Line+lines; l++ {
		k.skip[l] = true
	}
}

// decodeScan base64-decodes a value and scans what it holds (and, through
// the scanner's decoding, what is encoded inside, such as a docker
// config's auth fields), reporting findings at the value's line.
func (k *Kube) decodeScan(sc *Scanner, path string, v *yaml.Node, where string) {
	raw, err := decodeBase64(v.Value)
	if err != nil {
		return
	}
	in := Input{Path: path, LineMap: func(int) int { return v.Line }}
	sc.ScanBytes(in, raw, func(f Finding) {
		f.Column = 0
		f.Note = joinNote("base64-decoded from "+where, f.Note)
		f.Context = where + " " + f.Context
		k.Findings = append(k.Findings, f)
	})
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || strings.Contains(n.Value, templated) {
		return ""
	}
	return n.Value
}

// Exposure is a manifest-level problem: a plain Secret committed, or one
// left beside its sealed version.
type Exposure struct {
	Manifest Manifest
	// SealedIn names the file of the SealedSecret with the same name, for
	// an unsealed leftover.
	SealedIn string
}

// Exposures finds plain Secrets with literal values among manifests from
// a whole repository, and says which have a sealed twin.
func Exposures(ms []Manifest) []Exposure {
	sealed := map[string]string{}
	for _, m := range ms {
		if m.Kind == "SealedSecret" && m.Name != "" {
			sealed[m.Namespace+"/"+m.Name] = m.Path
			if _, ok := sealed["*/"+m.Name]; !ok {
				sealed["*/"+m.Name] = m.Path
			}
		}
	}
	var out []Exposure
	for _, m := range ms {
		if m.Kind != "Secret" || !m.Literal || m.Encrypted {
			continue
		}
		e := Exposure{Manifest: m}
		if p, ok := sealed[m.Namespace+"/"+m.Name]; ok {
			e.SealedIn = p
		} else if p, ok := sealed["*/"+m.Name]; ok && m.Name != "" {
			e.SealedIn = p
		}
		out = append(out, e)
	}
	return out
}

// Severity is High for a plain Secret, Critical for one beside its sealed
// version (the sealing was meant to replace it: it is a leftover).
func (e Exposure) Severity() check.Severity {
	if e.SealedIn != "" {
		return check.Critical
	}
	return check.High
}
