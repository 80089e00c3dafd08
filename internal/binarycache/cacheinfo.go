package binarycache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nixgate/nixgate/internal/narinfo"
)

// CacheInfo is a cache's nix-cache-info.
type CacheInfo struct {
	StoreDir      string `json:"storeDir"`
	WantMassQuery bool   `json:"wantMassQuery"`
	Priority      string `json:"priority,omitempty"`
	// RequiredSignatures are the keys the cache says every path must be
	// signed by (NixOS/nix#14313): one of them, or all of them with
	// RequireAllSignatures.
	RequiredSignatures   []string `json:"requiredSignatures,omitempty"`
	RequireAllSignatures bool     `json:"requireAllSignatures,omitempty"`
	// Present is false when the cache has no nix-cache-info (Nix then
	// assumes /nix/store).
	Present bool `json:"present"`
}

// ParseCacheInfo reads nix-cache-info: `Key: Value` lines. Unknown keys
// are ignored, as Nix does; the keys read are checked.
func ParseCacheInfo(b []byte) (*CacheInfo, error) {
	ci := &CacheInfo{StoreDir: narinfo.StoreDir, Present: true}
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("nix-cache-info:%d:1: %q is not a `Key: Value` line", line, l)
		}
		v = strings.TrimSpace(v)
		switch k {
		case "StoreDir":
			if !strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") || strings.ContainsAny(v, " \t") {
				return nil, fmt.Errorf("nix-cache-info:%d:%d: StoreDir %q is not an absolute directory", line, len(k)+3, v)
			}
			ci.StoreDir = v
		case "WantMassQuery":
			ci.WantMassQuery = v == "1"
		case "Priority":
			ci.Priority = v
		case "RequiredSignatures":
			for _, key := range strings.Fields(v) {
				if _, err := narinfo.ParsePublicKey(key); err != nil {
					return nil, fmt.Errorf("nix-cache-info:%d:%d: RequiredSignatures: %w", line, len(k)+3, err)
				}
				ci.RequiredSignatures = append(ci.RequiredSignatures, key)
			}
		case "RequireAllSignatures":
			ci.RequireAllSignatures = v == "1" || v == "true"
		}
	}
	return ci, sc.Err()
}

// ReadCacheInfo fetches and parses the store's nix-cache-info; a store
// without one gets the defaults with Present false.
func ReadCacheInfo(ctx context.Context, s Store) (*CacheInfo, error) {
	o, err := s.Get(ctx, "nix-cache-info")
	if IsNotFound(err) {
		return &CacheInfo{StoreDir: narinfo.StoreDir}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read nix-cache-info: %w", err)
	}
	defer o.Body.Close()
	b, err := io.ReadAll(io.LimitReader(o.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read nix-cache-info: %w", err)
	}
	return ParseCacheInfo(b)
}
