package nixcli

// This file holds the provenance commands' uses of nix (nixgate sbom,
// attest, verify): the runtime closure from `nix path-info --json
// --recursive`, the build-time graph from `nix show-derivation -r`, and
// the NAR hash of a store path.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Query names what to ask Nix about: installables (flake references,
// store paths) or attribute paths of a .nix file (File).
type Query struct {
	// Store is the store URI ("" for the default store).
	Store string
	// File, when set, makes Installables attribute paths in that file
	// (`--file FILE`).
	File         string
	Installables []string
	// Derivation makes .drv paths name the derivations themselves, not
	// their outputs (`--derivation`).
	Derivation bool
	// Log receives Nix's stderr (nil: kept only for errors).
	Log io.Writer
}

func (q Query) args(cmd ...string) []string {
	args := append([]string{}, experimental...)
	args = append(args, cmd...)
	args = append(args, storeArgs(q.Store, "")...)
	// Asking about paths never downloads anything.
	args = append(args, Settings{"substituters": ""}.args()...)
	if q.Derivation {
		args = append(args, "--derivation")
	}
	if q.File != "" {
		args = append(args, "--file", q.File)
	}
	args = append(args, "--")
	return append(args, q.Installables...)
}

// Closure returns Nix's record of every path in the runtime closure of the
// query's paths (`nix path-info --json --recursive`), in Nix's order. An
// installable that is not built yet comes back with Valid false.
func Closure(ctx context.Context, q Query) ([]PathInfo, error) {
	// Nix writes the records one by one as it reads them from its
	// database: decode each as it arrives, while Nix reads the next.
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := run(ctx, q.Log, pw, "nix", q.args("path-info", "--json", "--recursive")...)
		pw.CloseWithError(err)
		errc <- err
	}()
	res, derr := decodePathInfos(pr)
	io.Copy(io.Discard, pr)
	if err := <-errc; err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("nix path-info: parse --json output: %w", derr)
	}
	return res, nil
}

// decodePathInfos decodes a JSON array of path-info records element by
// element.
func decodePathInfos(r io.Reader) ([]PathInfo, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("want a JSON array, got %v", tok)
	}
	var res []PathInfo
	for dec.More() {
		var pi PathInfo
		if err := dec.Decode(&pi); err != nil {
			return nil, err
		}
		res = append(res, pi)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return res, nil
}

// Outputs returns Nix's record of the query's own paths (`nix path-info
// --json`, not recursive): for an installable, its outputs.
func Outputs(ctx context.Context, q Query) ([]PathInfo, error) {
	out, err := run(ctx, q.Log, nil, "nix", q.args("path-info", "--json")...)
	if err != nil {
		return nil, err
	}
	return parsePathInfo(out)
}

// DrvNode is a derivation of `nix show-derivation`: what the build-time
// SBOM and the provenance need of it.
type DrvNode struct {
	Outputs map[string]struct {
		Path string `json:"path"`
		// HashAlgo and Hash are set for a fixed-output derivation.
		HashAlgo string `json:"hashAlgo"`
		Hash     string `json:"hash"`
	} `json:"outputs"`
	InputSrcs []string            `json:"inputSrcs"`
	InputDrvs map[string][]string `json:"inputDrvs"`
	System    string              `json:"system"`
	Builder   string              `json:"builder"`
	Env       map[string]string   `json:"env"`
}

// DerivationGraph returns the derivations of the query's paths and every
// derivation they depend on, by .drv path (`nix show-derivation -r`). A
// store path is mapped to its deriver by Nix; nothing is built or
// substituted.
func DerivationGraph(ctx context.Context, q Query) (map[string]DrvNode, error) {
	out, err := run(ctx, q.Log, nil, "nix", q.args("show-derivation", "--recursive")...)
	if err != nil {
		return nil, err
	}
	var res map[string]DrvNode
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("nix show-derivation: parse --json output: %w", err)
	}
	return res, nil
}

// PathInfos returns Nix's record of paths (not recursive), by path; paths
// that are not valid in the store have Valid false.
func PathInfos(ctx context.Context, store string, paths []string) (map[string]PathInfo, error) {
	return pathInfos(ctx, Query{Store: store}, paths)
}

// DrvInfos returns Nix's record of .drv paths themselves (their
// registration times), by path.
func DrvInfos(ctx context.Context, store string, drvs []string) (map[string]PathInfo, error) {
	return pathInfos(ctx, Query{Store: store, Derivation: true}, drvs)
}

func pathInfos(ctx context.Context, q Query, paths []string) (map[string]PathInfo, error) {
	res := map[string]PathInfo{}
	// Keep each command line well under the kernel's argument limit.
	const batch = 2000
	for i := 0; i < len(paths); i += batch {
		q.Installables = paths[i:min(i+batch, len(paths))]
		infos, err := Outputs(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			res[in.Path] = in
		}
	}
	return res, nil
}

// System returns the system Nix builds for (`nix show-config --json`'s
// "system", such as "x86_64-linux").
func System(ctx context.Context) (string, error) {
	args := append([]string{}, experimental...)
	args = append(args, "show-config", "--json")
	out, err := run(ctx, nil, nil, "nix", args...)
	if err != nil {
		return "", err
	}
	var conf struct {
		System struct {
			Value string `json:"value"`
		} `json:"system"`
	}
	if err := json.Unmarshal(out, &conf); err != nil {
		return "", fmt.Errorf("nix show-config: parse --json output: %w", err)
	}
	return strings.TrimSpace(conf.System.Value), nil
}
