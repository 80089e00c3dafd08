package claimlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// Client talks to a log over HTTP.
type Client struct {
	URL  string // the log's prefix, such as http://127.0.0.1:8080
	HTTP *http.Client
}

// NewClient returns a client for the log at base.
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log URL %q: want http(s)://HOST[:PORT][/PREFIX]", base)
	}
	return &Client{URL: strings.TrimSuffix(base, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}, nil
}

// StatusError is a refusal by the log: its HTTP status and reason.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Reason)
}

func (c *Client) do(req *http.Request, limit int64) ([]byte, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		r := strings.TrimSpace(string(data))
		if len(r) > 300 {
			r = r[:300]
		}
		return nil, &StatusError{Code: resp.StatusCode, Reason: r}
	}
	return data, nil
}

func (c *Client) get(ctx context.Context, p string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+p, nil)
	if err != nil {
		return nil, err
	}
	b, err := c.do(req, limit)
	if err != nil {
		return nil, fmt.Errorf("GET %s%s: %w", c.URL, p, err)
	}
	return b, nil
}

// Submit posts a claim and returns the log's acknowledgement, sent once the
// claim is durable.
func (c *Client) Submit(ctx context.Context, cl *claim.Claim) (Ack, error) {
	return c.SubmitRaw(ctx, cl.Marshal())
}

// SubmitRaw posts claim bytes as they are (the load generator sends
// malformed ones too).
func (c *Client) SubmitRaw(ctx context.Context, body []byte) (Ack, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/add-claim", bytes.NewReader(body))
	if err != nil {
		return Ack{}, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	data, err := c.do(req, 1<<16)
	if err != nil {
		return Ack{}, fmt.Errorf("submit to %s: %w", c.URL, err)
	}
	var a Ack
	if err := json.Unmarshal(data, &a); err != nil {
		return Ack{}, fmt.Errorf("submit to %s: bad answer: %w", c.URL, err)
	}
	return a, nil
}

// Checkpoint fetches the published checkpoint (unverified).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/checkpoint", c2sp.MaxNoteSize)
}

// Claims fetches a store path's claims with inclusion proofs (unverified).
func (c *Client) Claims(ctx context.Context, storePath string) (*ClaimsResponse, error) {
	b, err := c.get(ctx, "/claims?path="+url.QueryEscape(storePath), 64<<20)
	if err != nil {
		return nil, err
	}
	var r ClaimsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("claims for %s: %w", storePath, err)
	}
	return &r, nil
}

// Consistency fetches the consistency proof between two tree sizes.
func (c *Client) Consistency(ctx context.Context, old, n int64) (tlog.TreeProof, error) {
	b, err := c.get(ctx, "/proof/consistency?old="+strconv.FormatInt(old, 10)+"&new="+strconv.FormatInt(n, 10), 64*64)
	if err != nil {
		return nil, err
	}
	return parseHashLines(b)
}

// InclusionProof fetches the inclusion proof of the leaf at index in the
// tree of size n.
func (c *Client) InclusionProof(ctx context.Context, index, n int64) (tlog.RecordProof, error) {
	b, err := c.get(ctx, "/proof/inclusion?index="+strconv.FormatInt(index, 10)+"&size="+strconv.FormatInt(n, 10), 64*64)
	if err != nil {
		return nil, err
	}
	return parseHashLines(b)
}

// TLogProof fetches the c2sp.org/tlog-proof of the claim at index.
func (c *Client) TLogProof(ctx context.Context, index int64) ([]byte, error) {
	return c.get(ctx, "/tlog-proof?index="+strconv.FormatInt(index, 10), c2sp.MaxProofSize)
}

// Tile fetches a tile or entry bundle by its C2SP path.
func (c *Client) Tile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	return c.get(ctx, "/"+c2sp.TilePath(t), 1<<20)
}

func parseHashLines(b []byte) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		h, err := c2sp.ParseHash(l)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
