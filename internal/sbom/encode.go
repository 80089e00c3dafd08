package sbom

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/nixgate/nixgate/internal/jsonw"
)

// The documents are laid out here, field by field, rather than built as
// cyclonedx-go's and tools-golang's types and given to their encoders:
// those encoders reflect over every field and (tools-golang) start a new
// json.Encoder for every element ID, which cost 3.3 ms (CycloneDX) and
// 8.4 ms (SPDX) of a 1,000-path closure, where the whole SBOM may cost
// half of nix path-info's 33 ms (bench/sbom.sh). Written here they cost
// 0.3 ms. The libraries stay the reference: encode_lib_test.go builds the
// same documents with their types, and TestEncodeMatchesLibrary and
// FuzzEncode require the same bytes; the schema tests validate both.

// Formats.
const (
	CycloneDX = "cyclonedx"
	SPDX      = "spdx"
)

// Meta is what a document says about itself.
type Meta struct {
	// Name names the document's subject (the installable or store path
	// asked about).
	Name string
	// Time is the document's timestamp (SOURCE_DATE_EPOCH or the source
	// commit's time): never the clock, so that two runs agree.
	Time time.Time
	// ToolVersion is nixgate's version.
	ToolVersion string
}

// namespace is the UUIDv5 namespace of nixgate's serial numbers.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/nixgate/nixgate/sbom"))

// Write writes the closure as an SBOM in format (CycloneDX or SPDX).
func Write(w io.Writer, format string, cl *Closure, m Meta) error {
	switch format {
	case CycloneDX:
		return writeCycloneDX(w, cl, m)
	case SPDX:
		return writeSPDX(w, cl, m)
	}
	return fmt.Errorf("unknown SBOM format %q", format)
}

// Property names of CycloneDX components (docs/provenance.md).
const (
	propStorePath = "nix:store_path"
	propNarHash   = "nix:nar_hash"
	propNarSize   = "nix:nar_size"
	propDeriver   = "nix:deriver"
	propOutput    = "nix:output"
	propClosure   = "nix:closure"
)

// rootRef is the bom-ref of the synthetic subject of a closure with more
// than one root.
const rootRef = "nixgate:subject"

// closureKind is what the metadata says the closure is.
func closureKind(cl *Closure, buildTime string) string {
	if cl.BuildTime {
		return buildTime
	}
	return "runtime"
}

func writeCycloneDX(w io.Writer, cl *Closure, m Meta) error {
	b := make([]byte, 0, 1024+900*len(cl.Components))
	b = append(b, `{"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:`...)
	b = append(b, contentUUID(CycloneDX, cl, m).String()...)
	b = append(b, `","version":1,"metadata":{"timestamp":`...)
	b = jsonw.String(b, m.Time.UTC().Format(time.RFC3339))
	b = append(b, `,"tools":{"components":[{"type":"application","name":"nixgate"`...)
	if m.ToolVersion != "" {
		b = append(b, `,"version":`...)
		b = jsonw.String(b, m.ToolVersion)
	}
	b = append(b, `}]},"component":`...)
	// One root is the metadata's component; several are the dependencies
	// of a synthetic one named after what was asked.
	single := len(cl.Roots) == 1
	if single {
		root := cl.Component(cl.Roots[0])
		if root == nil {
			return fmt.Errorf("CycloneDX: root %s is not a component of the closure", cl.Roots[0])
		}
		b = cdxComponent(b, root, "application")
	} else {
		b = append(b, `{"bom-ref":"`+rootRef+`","type":"application","name":`...)
		b = jsonw.String(b, m.Name)
		b = append(b, '}')
	}
	b = append(b, `,"properties":[{"name":"`+propClosure+`","value":"`...)
	b = append(b, closureKind(cl, "buildtime")...)
	b = append(b, `"}]},"components":[`...)
	n := 0
	for i := range cl.Components {
		c := &cl.Components[i]
		if single && c.Path == cl.Roots[0] {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = cdxComponent(b, c, "library")
	}
	b = append(b, `],"dependencies":[`...)
	if !single {
		b = append(b, `{"ref":"`+rootRef+`","dependsOn":`...)
		b = jsonw.Strings(b, cl.Roots)
		b = append(b, '}')
	}
	for i := range cl.Components {
		c := &cl.Components[i]
		if i > 0 || !single {
			b = append(b, ',')
		}
		b = append(b, `{"ref":`...)
		b = jsonw.String(b, c.Path)
		if len(c.DependsOn) > 0 {
			b = append(b, `,"dependsOn":`...)
			b = jsonw.Strings(b, c.DependsOn)
		}
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write CycloneDX: %w", err)
	}
	return nil
}

// cdxComponent appends c as a CycloneDX component of type typ.
func cdxComponent(b []byte, c *Component, typ string) []byte {
	b = append(b, `{"bom-ref":`...)
	b = jsonw.String(b, c.Path)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","name":`...)
	b = jsonw.String(b, c.Name)
	if c.Version != "" {
		b = append(b, `,"version":`...)
		b = jsonw.String(b, c.Version)
	}
	if c.NarHash != "" {
		b = append(b, `,"hashes":[{"alg":"SHA-256","content":`...)
		b = jsonw.String(b, c.NarHash)
		b = append(b, "}]"...)
	}
	b = append(b, `,"purl":"`...)
	b = c.appendPURL(b) // percent-encoded: nothing in it needs escaping
	b = append(b, `","properties":[`...)
	b = property(b, propStorePath, c.Path)
	if c.NarHash != "" {
		b = append(b, ',')
		b = property(b, propNarHash, c.NarHashSRI)
		b = append(b, `,{"name":"`+propNarSize+`","value":"`...)
		b = jsonw.Int(b, c.NarSize)
		b = append(b, `"}`...)
	}
	if c.Deriver != "" {
		b = append(b, ',')
		b = property(b, propDeriver, c.Deriver)
	}
	if c.Output != "" {
		b = append(b, ',')
		b = property(b, propOutput, c.Output)
	}
	return append(b, "]}"...)
}

// property appends a CycloneDX property (name is one of ours and needs no
// escaping).
func property(b []byte, name, value string) []byte {
	b = append(b, `{"name":"`...)
	b = append(b, name...)
	b = append(b, `","value":`...)
	b = jsonw.String(b, value)
	return append(b, '}')
}

// contentUUID is the UUIDv5 of everything a document says: the format,
// the metadata and every component with its edges. Two runs over the same
// closure agree; any difference gives another serial number.
func contentUUID(format string, cl *Closure, m Meta) uuid.UUID {
	// The fields are gathered in a buffer and hashed a block at a time
	// (a Write per field cost a third of the CycloneDX encoding).
	h := sha256.New()
	b := make([]byte, 0, 32<<10)
	field := func(s string) {
		b = append(b, s...)
		b = append(b, 0)
		if len(b) >= 31<<10 {
			h.Write(b)
			b = b[:0]
		}
	}
	field(format)
	field(m.Name)
	field(m.Time.UTC().Format(time.RFC3339))
	field(m.ToolVersion)
	field(strconv.FormatBool(cl.BuildTime))
	for _, r := range cl.Roots {
		field(r)
	}
	field("")
	for i := range cl.Components {
		c := &cl.Components[i]
		field(c.Path)
		field(c.Name)
		field(c.Version)
		field(c.NarHash)
		field(c.NarHashSRI)
		b = strconv.AppendInt(b, c.NarSize, 10)
		field("")
		field(c.Deriver)
		field(c.Output)
		for _, d := range c.DependsOn {
			field(d)
		}
		field("")
	}
	h.Write(b)
	return uuid.NewSHA1(namespace, h.Sum(nil))
}

// appendSPDXID appends the SPDX element ID of a store path: SPDXRef-, the
// hash part and the name, with every character SPDX does not allow in an
// ID replaced by '-' (so nothing in it needs escaping).
func appendSPDXID(b []byte, path string) []byte {
	name, _ := StorePathName(path)
	b = append(b, "SPDXRef-"...)
	b = append(b, HashPart(path)...)
	b = append(b, '-')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '-')
		}
	}
	return b
}

func writeSPDX(w io.Writer, cl *Closure, m Meta) error {
	b := make([]byte, 0, 1024+1100*len(cl.Components))
	b = append(b, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":`...)
	b = jsonw.String(b, m.Name)
	b = append(b, `,"documentNamespace":"https://spdx.org/spdxdocs/nixgate/`...)
	b = append(b, contentUUID(SPDX, cl, m).String()...)
	b = append(b, `","comment":`...)
	b = jsonw.String(b, "The "+closureKind(cl, "build-time")+" closure of "+m.Name+" (Nix store paths; each checksum is the SHA-256 of the path's NAR serialisation).")
	b = append(b, `,"creationInfo":{"creators":[`...)
	b = jsonw.String(b, "Tool: nixgate-"+m.ToolVersion)
	b = append(b, `],"created":`...)
	b = jsonw.String(b, m.Time.UTC().Format(time.RFC3339))
	b = append(b, '}')
	var id []byte // the current package's SPDX ID
	for i := range cl.Components {
		c := &cl.Components[i]
		if i == 0 {
			b = append(b, `,"packages":[`...)
		} else {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = jsonw.String(b, c.Name)
		b = append(b, `,"SPDXID":"`...)
		b = appendSPDXID(b, c.Path)
		b = append(b, '"')
		if c.Version != "" {
			b = append(b, `,"versionInfo":`...)
			b = jsonw.String(b, c.Version)
		}
		b = append(b, `,"packageFileName":`...)
		b = jsonw.String(b, c.Path)
		b = append(b, `,"downloadLocation":"NOASSERTION","filesAnalyzed":false`...)
		if c.NarHash != "" {
			b = append(b, `,"checksums":[{"algorithm":"SHA256","checksumValue":`...)
			b = jsonw.String(b, c.NarHash)
			b = append(b, "}]"...)
		}
		if note := packageComment(c); note != "" {
			b = append(b, `,"comment":`...)
			b = jsonw.String(b, note)
		}
		b = append(b, `,"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"`...)
		b = c.appendPURL(b)
		b = append(b, `"}]}`...)
		if i == len(cl.Components)-1 {
			b = append(b, ']')
		}
	}
	n := 0
	rel := func(a []byte, bPath, typ string) {
		if n == 0 {
			b = append(b, `,"relationships":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"spdxElementId":"`...)
		b = append(b, a...)
		b = append(b, `","relatedSpdxElement":"`...)
		b = appendSPDXID(b, bPath)
		b = append(b, `","relationshipType":"`...)
		b = append(b, typ...)
		b = append(b, `"}`...)
	}
	for _, r := range cl.Roots {
		rel([]byte("SPDXRef-DOCUMENT"), r, "DESCRIBES")
	}
	for i := range cl.Components {
		c := &cl.Components[i]
		id = appendSPDXID(id[:0], c.Path)
		for _, d := range c.DependsOn {
			rel(id, d, "DEPENDS_ON")
		}
	}
	if n > 0 {
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write SPDX: %w", err)
	}
	return nil
}

// packageComment is what an SPDX package says of its derivation and of a
// missing NAR hash.
func packageComment(c *Component) string {
	var s string
	add := func(note string) {
		if s != "" {
			s += "; "
		}
		s += note
	}
	if c.Deriver != "" {
		add("deriver: " + c.Deriver)
	}
	if c.Output != "" {
		add("output: " + c.Output)
	}
	if c.NarHash == "" {
		add("not valid in the store: no NAR hash")
	}
	return s
}
