package binarycache

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"
)

// s3Store is a cache in an S3 bucket, read with plain HTTP GETs signed
// with AWS Signature Version 4 (smithy-go's standalone signer: no SDK,
// no S3 client), or unsigned when no credentials are found.
//
// URI parameters, as Nix spells them: region (default us-east-1),
// endpoint (host[:port] or a URL, for S3-compatible servers; path-style
// addressing), scheme (https, or http with an endpoint), profile (the
// credentials profile). Credentials come from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile (profile=,
// AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials; with none, requests are anonymous.
type s3Store struct {
	*httpStore
	bucket string
	region string
	creds  *credentials.Credentials
}

func openS3(u *url.URL, o Options) (*s3Store, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, fmt.Errorf("store URI %q: no bucket (s3://BUCKET?region=...)", u.Redacted())
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("store URI %q: a path after the bucket is not supported", u.Redacted())
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "region", "endpoint", "scheme", "profile":
		case "compression", "secret-key", "parallel-compression", "write-nar-listing", "ls-compression", "narinfo-compression", "log-compression", "multipart-upload", "buffer-size", "want-mass-query", "priority", "trusted", "index-debug-info":
			// Nix's writing and client options: not used for reading.
		default:
			return nil, fmt.Errorf("store URI %q: unknown parameter %q", u.Redacted(), k)
		}
	}
	region := q.Get("region")
	if region == "" {
		region = "us-east-1"
	}
	scheme := q.Get("scheme")
	if scheme == "" {
		scheme = "https"
	}
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("store URI %q: scheme=%q, want http or https", u.Redacted(), scheme)
	}
	var base *url.URL
	if ep := q.Get("endpoint"); ep != "" {
		if !strings.Contains(ep, "://") {
			ep = scheme + "://" + ep
		}
		e, err := url.Parse(ep)
		if err != nil || e.Host == "" {
			return nil, fmt.Errorf("store URI %q: endpoint %q: want host[:port] or a URL", u.Redacted(), q.Get("endpoint"))
		}
		e.Path = strings.TrimRight(e.Path, "/") + "/" + bucket
		base = e
	} else {
		if scheme != "https" {
			return nil, fmt.Errorf("store URI %q: scheme=http needs an endpoint", u.Redacted())
		}
		if strings.Contains(bucket, ".") {
			base = &url.URL{Scheme: "https", Host: "s3." + region + ".amazonaws.com", Path: "/" + bucket}
		} else {
			base = &url.URL{Scheme: "https", Host: bucket + ".s3." + region + ".amazonaws.com"}
		}
	}
	h, err := openHTTP(base, o)
	if err != nil {
		return nil, err
	}
	display := *u
	h.uri = display.Redacted()
	s := &s3Store{httpStore: h, bucket: bucket, region: region}
	s.creds, err = s3Credentials(o.Env, q.Get("profile"))
	if err != nil {
		return nil, fmt.Errorf("store URI %q: %w", u.Redacted(), err)
	}
	if s.creds != nil {
		signer := sigv4.New(func(so *v4.SignerOptions) {
			so.DisableDoublePathEscape = true
			so.AddPayloadHashHeader = true
		})
		empty := emptySHA256
		s.sign = func(r *http.Request) error {
			return signer.SignRequest(&sigv4.SignRequestInput{
				Request: r, PayloadHash: empty[:], Credentials: *s.creds,
				Service: "s3", Region: region,
			})
		}
	}
	return s, nil
}

// emptySHA256 is the SHA-256 of an empty body, the payload hash of a GET.
var emptySHA256 = [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

// s3Credentials finds credentials in the environment, then in the shared
// credentials file; nil means anonymous.
func s3Credentials(env map[string]string, profile string) (*credentials.Credentials, error) {
	id, secret := env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
	if id != "" && secret != "" && profile == "" {
		return &credentials.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: env["AWS_SESSION_TOKEN"]}, nil
	}
	if profile == "" {
		profile = env["AWS_PROFILE"]
	}
	explicit := profile != ""
	if profile == "" {
		profile = "default"
	}
	file := env["AWS_SHARED_CREDENTIALS_FILE"]
	if file == "" {
		home := env["HOME"]
		if home == "" {
			if explicit {
				return nil, fmt.Errorf("profile %q: no HOME and no AWS_SHARED_CREDENTIALS_FILE", profile)
			}
			return nil, nil
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	f, err := os.Open(file)
	if err != nil {
		if explicit || env["AWS_SHARED_CREDENTIALS_FILE"] != "" {
			return nil, fmt.Errorf("profile %q: %w", profile, err)
		}
		return nil, nil
	}
	defer f.Close()
	c, err := readProfile(f, profile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if c == nil && explicit {
		return nil, fmt.Errorf("%s: no credentials for profile %q", file, profile)
	}
	return c, nil
}

// readProfile reads one profile's keys from a shared credentials file
// (INI: [profile] then key = value lines).
func readProfile(r io.Reader, profile string) (*credentials.Credentials, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	in := false
	c := &credentials.Credentials{}
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			name := strings.TrimSpace(l[1 : len(l)-1])
			in = name == profile
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		case "aws_session_token":
			c.SessionToken = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, nil
	}
	return c, nil
}

// listResult is the part of a ListObjectsV2 response that is read.
type listResult struct {
	Contents []struct {
		Key string `xml:"Key"`
	} `xml:"Contents"`
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
}

// List lists the bucket's top level with ListObjectsV2 (delimiter "/", so
// nar/ is not walked), page by page.
func (s *s3Store) List(ctx context.Context, fn func(string) error) error {
	token := ""
	for page := 0; ; page++ {
		q := url.Values{"list-type": {"2"}, "delimiter": {"/"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		u := *s.base
		if u.Path == "" {
			u.Path = "/"
		}
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		if s.sign != nil {
			if err := s.sign(req); err != nil {
				return err
			}
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return fmt.Errorf("list s3://%s: %w", s.bucket, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("list s3://%s: HTTP %s%s", s.bucket, resp.Status, errorBody(resp))
		}
		var lr listResult
		err = xml.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&lr)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("list s3://%s: %w", s.bucket, err)
		}
		for _, c := range lr.Contents {
			if strings.HasSuffix(c.Key, ".narinfo") && !strings.Contains(c.Key, "/") {
				if err := fn(c.Key); err != nil {
					return err
				}
			}
		}
		if !lr.IsTruncated || lr.NextContinuationToken == "" {
			return nil
		}
		token = lr.NextContinuationToken
	}
}

// Putter is a store that can upload (s3://), for tests and tools that
// fill a bucket.
type Putter interface {
	Put(ctx context.Context, key string, body []byte) error
}

// Put uploads an object.
func (s *s3Store) Put(ctx context.Context, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.url(key), strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	if s.sign != nil {
		h := sha256.Sum256(body)
		signer := sigv4.New(func(so *v4.SignerOptions) {
			so.DisableDoublePathEscape = true
			so.AddPayloadHashHeader = true
		})
		if err := signer.SignRequest(&sigv4.SignRequestInput{Request: req, PayloadHash: h[:], Credentials: *s.creds, Service: "s3", Region: s.region}); err != nil {
			return err
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("put %s: HTTP %s%s", key, resp.Status, errorBody(resp))
	}
	resp.Body.Close()
	return nil
}
