package binarycache

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// HTTPDoer sends a request (an *http.Client).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// DefaultClient is the client of http(s):// and s3:// stores: no overall
// timeout (a NAR may be large), but bounded dials, TLS handshakes and
// response headers, and enough idle connections for --jobs.
func DefaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		// The transport encoding is decoded here (decodeBody), for
		// every encoding a cache may use, not only gzip.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
	}}
}

// httpStore is a cache served over HTTP: static files, no listing.
type httpStore struct {
	base   *url.URL // without a trailing slash
	client HTTPDoer
	// sign, when set, signs a request before it is sent (s3://).
	sign func(*http.Request) error
	uri  string
}

func openHTTP(u *url.URL, o Options) (*httpStore, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("store URI %q: no host", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("store URI %q: credentials in the URL are not supported (use a netrc-aware proxy or an s3:// store)", u.Redacted())
	}
	b := *u
	b.Path = strings.TrimRight(b.Path, "/")
	b.RawPath = ""
	b.RawQuery, b.Fragment = "", ""
	c := o.HTTP
	if c == nil {
		c = DefaultClient()
	}
	return &httpStore{base: &b, client: c, uri: b.String()}, nil
}

func (s *httpStore) URI() string  { return s.uri }
func (s *httpStore) Remote() bool { return true }

func (s *httpStore) List(ctx context.Context, fn func(string) error) error { return ErrNoListing }

// url returns the URL of key, which may carry a query.
func (s *httpStore) url(key string) string {
	p, q, _ := strings.Cut(key, "?")
	u := *s.base
	u.Path = s.base.Path + "/" + p
	u.RawQuery = q
	return u.String()
}

// Get fetches key. A 404 or 403 is ErrNotFound (as Nix reads it: S3 says
// 403 for a missing key without list permission); a 5xx or a transport
// error is retried twice.
func (s *httpStore) Get(ctx context.Context, key string) (*Object, error) {
	target := s.url(key)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 200 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "zstd, br, gzip")
		req.Header.Set("User-Agent", "nixgate")
		if s.sign != nil {
			if err := s.sign(req); err != nil {
				return nil, fmt.Errorf("sign request for %s: %w", key, err)
			}
		}
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("get %s: %w", redact(target), err)
			continue
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return decodeBody(resp, key)
		case resp.StatusCode == http.StatusNotFound:
			drain(resp)
			return nil, fmt.Errorf("%s: %w (HTTP %d)", key, ErrNotFound, resp.StatusCode)
		case resp.StatusCode == http.StatusForbidden:
			// S3 answers 403 AccessDenied for a missing key without list
			// permission (Nix reads it as missing too); a refused
			// signature or key is an error.
			msg := errorBody(resp)
			for _, code := range []string{"SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestTimeTooSkewed", "ExpiredToken", "InvalidToken"} {
				if strings.Contains(msg, code) {
					return nil, fmt.Errorf("get %s: HTTP 403 %s%s", redact(target), code, msg)
				}
			}
			return nil, fmt.Errorf("%s: %w (HTTP %d)", key, ErrNotFound, resp.StatusCode)
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			lastErr = fmt.Errorf("get %s: HTTP %s%s", redact(target), resp.Status, errorBody(resp))
			continue
		default:
			err := fmt.Errorf("get %s: HTTP %s%s", redact(target), resp.Status, errorBody(resp))
			return nil, err
		}
	}
	return nil, lastErr
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		p.RawQuery = ""
		return p.Redacted()
	}
	return u
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// errorBody is the first line of an error response (an S3 XML error
// says why), bounded.
func errorBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	s := strings.TrimSpace(string(b))
	code := ""
	if i := strings.Index(s, "<Code>"); i >= 0 {
		code = s[i+len("<Code>"):]
		if j := strings.Index(code, "</Code>"); j >= 0 {
			code = code[:j] + ": "
		}
	}
	if i := strings.Index(s, "<Message>"); i >= 0 {
		s = s[i+len("<Message>"):]
		if j := strings.Index(s, "</Message>"); j >= 0 {
			s = s[:j]
		}
	}
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return ": " + code + strings.ReplaceAll(s, "\n", " ")
}

// decodeBody removes a transport encoding (Content-Encoding): a cache
// such as harmonia serves `Compression: none` NARs zstd-encoded.
func decodeBody(resp *http.Response, key string) (*Object, error) {
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	o := &Object{Body: resp.Body, Size: resp.ContentLength}
	switch enc {
	case "", "identity":
		return o, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: Content-Encoding gzip: %w", key, err)
		}
		o.Body = readCloser{zr, resp.Body}
	case "zstd":
		// A frame's window is allocated when it starts: bound what a
		// server's 20 bytes can make this process allocate.
		zr, err := zstd.NewReader(resp.Body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: Content-Encoding zstd: %w", key, err)
		}
		o.Body = readCloser{zr.IOReadCloser(), resp.Body}
	case "br":
		o.Body = readCloser{brotli.NewReader(resp.Body), resp.Body}
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("%s: unsupported Content-Encoding %q", key, enc)
	}
	o.Size, o.Encoding = -1, enc
	return o, nil
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error {
	if c, ok := r.Reader.(io.Closer); ok {
		c.Close()
	}
	return r.c.Close()
}

// IsNotFound reports whether err is a missing file.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// maxZstdWindow bounds the window of a zstd Content-Encoding (Nix's
// default levels use a few MiB; zstd --ultra -22 128).
const maxZstdWindow = 128 << 20
