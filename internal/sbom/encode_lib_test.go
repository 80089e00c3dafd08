package sbom

// The CycloneDX and SPDX documents written with the libraries' own types
// and encoders: the reference that encode.go's hand-laid output must equal
// byte for byte (TestEncodeMatchesLibrary, FuzzEncode).

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	spdxcommon "github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

func libCDXComponent(c *Component, typ cdx.ComponentType) cdx.Component {
	comp := cdx.Component{
		BOMRef:     c.Path,
		Type:       typ,
		Name:       c.Name,
		Version:    c.Version,
		PackageURL: c.PURL(),
	}
	props := []cdx.Property{{Name: propStorePath, Value: c.Path}}
	if c.NarHash != "" {
		comp.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: c.NarHash}}
		props = append(props,
			cdx.Property{Name: propNarHash, Value: c.NarHashSRI},
			cdx.Property{Name: propNarSize, Value: strconv.FormatInt(c.NarSize, 10)})
	}
	if c.Deriver != "" {
		props = append(props, cdx.Property{Name: propDeriver, Value: c.Deriver})
	}
	if c.Output != "" {
		props = append(props, cdx.Property{Name: propOutput, Value: c.Output})
	}
	comp.Properties = &props
	return comp
}

func libCycloneDX(w io.Writer, cl *Closure, m Meta) error {
	bom := cdx.NewBOM()
	// Set explicitly: the library's default is its newest version.
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	kind := "runtime"
	if cl.BuildTime {
		kind = "buildtime"
	}
	meta := &cdx.Metadata{
		Timestamp: m.Time.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "nixgate", Version: m.ToolVersion,
		}}},
		Properties: &[]cdx.Property{{Name: propClosure, Value: kind}},
	}
	comps := []cdx.Component{}
	var deps []cdx.Dependency
	single := len(cl.Roots) == 1
	if !single {
		roots := append([]string{}, cl.Roots...)
		meta.Component = &cdx.Component{BOMRef: rootRef, Type: cdx.ComponentTypeApplication, Name: m.Name}
		deps = append(deps, cdx.Dependency{Ref: rootRef, Dependencies: &roots})
	}
	for i := range cl.Components {
		c := &cl.Components[i]
		if single && c.Path == cl.Roots[0] {
			rc := libCDXComponent(c, cdx.ComponentTypeApplication)
			meta.Component = &rc
		} else {
			comps = append(comps, libCDXComponent(c, cdx.ComponentTypeLibrary))
		}
		d := cdx.Dependency{Ref: c.Path}
		if len(c.DependsOn) > 0 {
			on := append([]string{}, c.DependsOn...)
			d.Dependencies = &on
		}
		deps = append(deps, d)
	}
	bom.Metadata = meta
	bom.Components = &comps
	bom.Dependencies = &deps
	bom.SerialNumber = "urn:uuid:" + contentUUID(CycloneDX, cl, m).String()
	// Encode, not EncodeVersion: the BOM is built for 1.6 and nothing in
	// it needs converting (EncodeVersion copies it through gob first, which
	// costs more than the rest of the SBOM together).
	// Compact: indenting costs twice the rest of the encoding (jq . or
	// python3 -m json.tool show it indented).
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(false)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return fmt.Errorf("encode CycloneDX: %w", err)
	}
	return nil
}

// libSPDXID returns the SPDX element ID of a store path (without the
// SPDXRef- prefix, which the encoder adds): the hash part and the name,
// with every character SPDX does not allow replaced by '-'.
func libSPDXID(path string) spdxcommon.ElementID {
	name, _ := StorePathName(path)
	var b strings.Builder
	b.WriteString(HashPart(path))
	b.WriteByte('-')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('-')
		}
	}
	return spdxcommon.ElementID(b.String())
}

func libSPDX(w io.Writer, cl *Closure, m Meta) error {
	kind := "runtime"
	if cl.BuildTime {
		kind = "build-time"
	}
	doc := &spdx.Document{
		SPDXVersion:    spdx.Version,
		DataLicense:    spdx.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   m.Name,
		CreationInfo: &spdx.CreationInfo{
			Creators: []spdxcommon.Creator{{CreatorType: "Tool", Creator: "nixgate-" + m.ToolVersion}},
			Created:  m.Time.UTC().Format(time.RFC3339),
		},
		DocumentComment: "The " + kind + " closure of " + m.Name + " (Nix store paths; each checksum is the SHA-256 of the path's NAR serialisation).",
	}
	for _, r := range cl.Roots {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         spdxcommon.MakeDocElementID("", "DOCUMENT"),
			RefB:         spdxcommon.MakeDocElementID("", string(libSPDXID(r))),
			Relationship: spdxcommon.TypeRelationshipDescribe,
		})
	}
	for i := range cl.Components {
		c := &cl.Components[i]
		p := &spdx.Package{
			PackageName:               c.Name,
			PackageSPDXIdentifier:     libSPDXID(c.Path),
			PackageVersion:            c.Version,
			PackageFileName:           c.Path,
			PackageDownloadLocation:   "NOASSERTION",
			FilesAnalyzed:             false,
			IsFilesAnalyzedTagPresent: true,
			PackageExternalReferences: []*spdx.PackageExternalReference{{
				Category: "PACKAGE-MANAGER", RefType: "purl", Locator: c.PURL(),
			}},
		}
		if c.NarHash != "" {
			p.PackageChecksums = []spdxcommon.Checksum{{Algorithm: spdxcommon.SHA256, Value: c.NarHash}}
		}
		var notes []string
		if c.Deriver != "" {
			notes = append(notes, "deriver: "+c.Deriver)
		}
		if c.Output != "" {
			notes = append(notes, "output: "+c.Output)
		}
		if c.NarHash == "" {
			notes = append(notes, "not valid in the store: no NAR hash")
		}
		p.PackageComment = strings.Join(notes, "; ")
		doc.Packages = append(doc.Packages, p)
		for _, d := range c.DependsOn {
			doc.Relationships = append(doc.Relationships, &spdx.Relationship{
				RefA:         spdxcommon.MakeDocElementID("", string(libSPDXID(c.Path))),
				RefB:         spdxcommon.MakeDocElementID("", string(libSPDXID(d))),
				Relationship: spdxcommon.TypeRelationshipDependsOn,
			})
		}
	}
	doc.DocumentNamespace = "https://spdx.org/spdxdocs/nixgate/" + contentUUID(SPDX, cl, m).String()
	if err := spdxjson.Write(doc, w, spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("encode SPDX: %w", err)
	}
	return nil
}
