// Package binarycache reads Nix binary caches: the static files a cache is
// made of (nix-cache-info, HASH.narinfo, nar/...), from file://, http://,
// https:// and s3:// store URIs, as Nix spells them. It also decides
// whether a narinfo's URL stays inside the cache root.
package binarycache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// ErrNotFound is a file the cache does not have.
var ErrNotFound = errors.New("not found")

// ErrNoListing means the store cannot enumerate its narinfo files (HTTP).
var ErrNoListing = errors.New("this store cannot list its contents (HTTP has no listing): give --paths or --closure")

// Object is an open file of the cache.
type Object struct {
	Body io.ReadCloser
	// Size is the length of Body when known, else -1.
	Size int64
	// Encoding is a transport encoding (HTTP Content-Encoding) that was
	// removed from Body, or "".
	Encoding string
}

// Store is a binary cache.
type Store interface {
	// URI is the store URI, without credentials.
	URI() string
	// Get opens the file at key, a clean slash-separated path relative to
	// the cache root (see ResolveURL). A file that does not exist is
	// ErrNotFound.
	Get(ctx context.Context, key string) (*Object, error)
	// List calls fn with the name of every HASH.narinfo file, or returns
	// ErrNoListing.
	List(ctx context.Context, fn func(name string) error) error
	// Remote reports whether reads go over the network (for the default
	// concurrency).
	Remote() bool
}

// Options of Open.
type Options struct {
	// Env is the environment S3 credentials are read from (nil: none).
	Env map[string]string
	// HTTP is used for http(s):// and s3:// stores (nil: a default
	// client).
	HTTP HTTPDoer
}

// Open opens a store URI: file:///dir, http(s)://host/path, or
// s3://bucket?region=&endpoint=&scheme=&profile=.
func Open(uri string, o Options) (Store, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("store URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("store URI %q: a file:// URI has no host (file:///dir)", uri)
		}
		if len(u.Query()) > 0 {
			// Nix's options (?compression=, ?secret-key=) are for
			// writing; reading ignores them.
			u.RawQuery = ""
		}
		return openFile(u.Path)
	case "http", "https":
		return openHTTP(u, o)
	case "s3":
		return openS3(u, o)
	case "":
		return nil, fmt.Errorf("store URI %q: want file:///dir, http(s)://host/path or s3://bucket", uri)
	}
	return nil, fmt.Errorf("store URI %q: unsupported scheme %q (want file, http, https or s3)", uri, u.Scheme)
}

// ResolveURL resolves a narinfo's URL field against the cache root and
// returns the key to Get, or an error when the URL leaves the root: an
// absolute URL (another scheme or host, or an absolute path), a ".."
// segment (also percent-encoded), a backslash or NUL, an empty segment.
// A query is kept only when query is true (HTTP caches such as harmonia
// use one); a fragment is never allowed. Nix 2.8 fetches an absolute
// http://, https:// or file:// URL wherever it points.
func ResolveURL(raw string, query bool) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("empty URL")
	}
	if strings.ContainsAny(raw, "\\\x00") || strings.ContainsFunc(raw, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", fmt.Errorf("URL %q has a backslash or control character", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "" || u.Opaque != "":
		return "", fmt.Errorf("URL %q is absolute (%s:): it leaves the cache", raw, u.Scheme)
	case u.Host != "" || strings.HasPrefix(raw, "//"):
		return "", fmt.Errorf("URL %q names another host", raw)
	case strings.HasPrefix(u.Path, "/"):
		return "", fmt.Errorf("URL %q is an absolute path", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("URL %q has a fragment", raw)
	case u.RawQuery != "" && !query:
		return "", fmt.Errorf("URL %q has a query, which a file store cannot serve", raw)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		switch seg {
		case "..":
			return "", fmt.Errorf("URL %q climbs out of the cache with \"..\"", raw)
		case ".", "":
			return "", fmt.Errorf("URL %q has an empty or \".\" segment", raw)
		}
	}
	if path.Clean(u.Path) != u.Path {
		return "", fmt.Errorf("URL %q is not a clean path", raw)
	}
	key := u.Path
	if u.RawQuery != "" {
		key += "?" + u.RawQuery
	}
	return key, nil
}
