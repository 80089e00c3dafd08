// Package witness is a minimal c2sp.org/tlog-witness witness (the
// add-checkpoint call and the monitoring checkpoint) and the client a log
// uses to ask witnesses for cosignatures (c2sp.org/tlog-cosignature,
// cosignature/v1).
package witness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// MaxRequest bounds an add-checkpoint body: an old size line, at most 63
// proof hashes and a checkpoint.
const MaxRequest = 64 + 63*46 + c2sp.MaxNoteSize

// Witness cosigns checkpoints of the logs it knows, keeping the latest
// cosigned checkpoint of each log in a SQLite database.
type Witness struct {
	signer *c2sp.Cosigner
	logs   map[string]note.Verifier // by origin
	db     *sql.DB
	log    *slog.Logger
	mu     sync.Mutex // makes check-and-update atomic
}

// New opens (creating) the witness's state database at dbPath and serves
// the logs whose vkeys are given.
func New(ctx context.Context, signer *c2sp.Cosigner, logVkeys []string, dbPath string, logger *slog.Logger) (*Witness, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Witness{signer: signer, logs: map[string]note.Verifier{}, log: logger}
	for _, k := range logVkeys {
		v, err := c2sp.NewLogVerifier(k)
		if err != nil {
			return nil, err
		}
		w.logs[v.Name()] = v
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Clean(dbPath)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS witness_state (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, root BLOB NOT NULL, note BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("witness state %s: %w", dbPath, err)
	}
	w.db = db
	return w, nil
}

// Close closes the state database.
func (w *Witness) Close() error { return w.db.Close() }

// Handler serves POST /add-checkpoint and GET /<origin hash>/checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.addCheckpoint)
	mux.HandleFunc("GET /{hash}/checkpoint", w.monitor)
	return mux
}

// httpError is a response status and reason.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func fail(code int, format string, args ...any) *httpError {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

func (w *Witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequest+1))
	if err != nil {
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	if len(body) > MaxRequest {
		http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	sigs, stored, herr := w.Add(r.Context(), body)
	if herr != nil {
		if herr.code == http.StatusConflict {
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", stored)
			return
		}
		w.log.Info("add-checkpoint refused", "status", herr.code, "reason", herr.msg)
		http.Error(rw, herr.msg, herr.code)
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Write(sigs)
}

// Request is a parsed add-checkpoint body.
type Request struct {
	OldSize    int64
	Proof      tlog.TreeProof
	Checkpoint []byte
}

// ParseRequest reads an add-checkpoint body.
func ParseRequest(body []byte) (*Request, error) {
	first, rest, ok := bytes.Cut(body, []byte("\n"))
	old, ok2 := strings.CutPrefix(string(first), "old ")
	n, err := strconv.ParseInt(old, 10, 64)
	if !ok || !ok2 || err != nil || n < 0 || strconv.FormatInt(n, 10) != old {
		return nil, errors.New("first line must be old N")
	}
	req := &Request{OldSize: n}
	for {
		line, r, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, errors.New("no empty line before the checkpoint")
		}
		rest = r
		if len(line) == 0 {
			break
		}
		if len(req.Proof) == 63 {
			return nil, errors.New("more than 63 consistency proof lines")
		}
		b, err := base64.StdEncoding.Strict().DecodeString(string(line))
		if err != nil || len(b) != tlog.HashSize {
			return nil, errors.New("a consistency proof line is not a base64 SHA-256 hash")
		}
		req.Proof = append(req.Proof, tlog.Hash(b))
	}
	req.Checkpoint = rest
	return req, nil
}

// Add runs add-checkpoint on a request body and returns the cosignature
// lines, or the status of the refusal (with the stored size for 409).
func (w *Witness) Add(ctx context.Context, body []byte) ([]byte, int64, *httpError) {
	req, err := ParseRequest(body)
	if err != nil {
		return nil, 0, fail(http.StatusBadRequest, "%v", err)
	}
	sn, err := c2sp.SplitNote(req.Checkpoint)
	if err != nil {
		return nil, 0, fail(http.StatusBadRequest, "%v", err)
	}
	cp, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		return nil, 0, fail(http.StatusBadRequest, "%v", err)
	}
	v, ok := w.logs[cp.Origin]
	if !ok {
		return nil, 0, fail(http.StatusNotFound, "unknown log origin %q", cp.Origin)
	}
	if _, _, err := c2sp.OpenCheckpoint(req.Checkpoint, v); err != nil {
		return nil, 0, fail(http.StatusForbidden, "checkpoint not signed by the log's key: %v", err)
	}
	if req.OldSize > cp.Size {
		return nil, 0, fail(http.StatusBadRequest, "old size %d is larger than the checkpoint size %d", req.OldSize, cp.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var size int64
	var rootB []byte
	err = w.db.QueryRowContext(ctx, `SELECT size, root FROM witness_state WHERE origin = ?`, cp.Origin).Scan(&size, &rootB)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		size, rootB = 0, nil
	case err != nil:
		return nil, 0, fail(http.StatusInternalServerError, "read state: %v", err)
	}
	if req.OldSize != size {
		return nil, size, fail(http.StatusConflict, "old size %d, the latest cosigned size is %d", req.OldSize, size)
	}
	emptyRoot := tlog.Hash(sha256.Sum256(nil))
	switch {
	case cp.Size == 0 && cp.Hash != emptyRoot:
		return nil, 0, fail(http.StatusUnprocessableEntity, "a checkpoint of size 0 must have the empty tree's root")
	case req.OldSize == 0 && len(req.Proof) > 0:
		return nil, 0, fail(http.StatusUnprocessableEntity, "old size 0 takes no consistency proof")
	case req.OldSize == cp.Size:
		if len(rootB) > 0 && !bytes.Equal(rootB, cp.Hash[:]) {
			w.log.Warn("fork: same size, another root", "origin", cp.Origin, "size", cp.Size)
			return nil, 0, fail(http.StatusUnprocessableEntity, "the root hash differs from the cosigned checkpoint of the same size")
		}
		if len(req.Proof) > 0 {
			return nil, 0, fail(http.StatusUnprocessableEntity, "equal sizes take no consistency proof")
		}
	case req.OldSize > 0:
		if err := tlog.CheckTree(req.Proof, cp.Size, cp.Hash, req.OldSize, tlog.Hash(rootB)); err != nil {
			w.log.Warn("inconsistent checkpoint", "origin", cp.Origin, "old", req.OldSize, "size", cp.Size)
			return nil, 0, fail(http.StatusUnprocessableEntity, "the consistency proof from %d to %d does not verify", req.OldSize, cp.Size)
		}
	}
	sigs, err := w.cosign(sn.Text)
	if err != nil {
		return nil, 0, fail(http.StatusInternalServerError, "cosign: %v", err)
	}
	stored := append(bytes.TrimRight(req.Checkpoint, "\n"), '\n')
	stored = append(stored, sigs...)
	if _, err := w.db.ExecContext(ctx, `INSERT INTO witness_state (origin, size, root, note) VALUES (?, ?, ?, ?)
		ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note`, cp.Origin, cp.Size, cp.Hash[:], stored); err != nil {
		return nil, 0, fail(http.StatusInternalServerError, "persist state: %v", err)
	}
	return sigs, 0, nil
}

// cosign returns the witness's signature line over the checkpoint text.
func (w *Witness) cosign(text string) ([]byte, error) {
	sig, err := w.signer.Sign([]byte(text))
	if err != nil {
		return nil, err
	}
	raw := binary.BigEndian.AppendUint32(nil, w.signer.KeyHash())
	return []byte("— " + w.signer.Name() + " " + base64.StdEncoding.EncodeToString(append(raw, sig...)) + "\n"), nil
}

func (w *Witness) monitor(rw http.ResponseWriter, r *http.Request) {
	want := r.PathValue("hash")
	for origin := range w.logs {
		h := sha256.Sum256([]byte(origin))
		if hex.EncodeToString(h[:]) != want {
			continue
		}
		var n []byte
		err := w.db.QueryRowContext(r.Context(), `SELECT note FROM witness_state WHERE origin = ?`, origin).Scan(&n)
		if err != nil {
			break
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(n)
		return
	}
	http.NotFound(rw, r)
}

// Client asks one witness for cosignatures.
type Client struct {
	URL      string // the submission prefix
	Verifier *c2sp.CosignatureVerifier
	HTTP     *http.Client
	// size is the witness's latest cosigned size as last learnt.
	mu   sync.Mutex
	size int64
}

// ErrConflict is a witness that has cosigned a larger tree than the log
// now has, or another tree: the log was rolled back or forked.
var ErrConflict = errors.New("the witness holds a checkpoint this log cannot extend")

// Cosign submits a checkpoint (signed by the log) and returns the
// witness's verified cosignature line (without the newline). prove returns
// the consistency proof from an older size.
func (c *Client) Cosign(ctx context.Context, checkpoint []byte, size int64, prove func(old int64) (tlog.TreeProof, error)) (string, error) {
	for attempt := 0; attempt < 2; attempt++ {
		c.mu.Lock()
		old := c.size
		c.mu.Unlock()
		if old > size {
			return "", fmt.Errorf("witness %s has cosigned size %d, the log has %d: %w", c.Verifier.Name(), old, size, ErrConflict)
		}
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		if old > 0 && old < size {
			p, err := prove(old)
			if err != nil {
				return "", err
			}
			for _, h := range p {
				body.WriteString(c2sp.EncodeHash(h) + "\n")
			}
		}
		body.WriteString("\n")
		body.Write(checkpoint)
		u, err := url.JoinPath(c.URL, "add-checkpoint")
		if err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
		if err != nil {
			return "", err
		}
		hc := c.HTTP
		if hc == nil {
			hc = http.DefaultClient
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("witness %s: %w", c.Verifier.Name(), err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			line, err := c.checkResponse(checkpoint, data)
			if err != nil {
				return "", err
			}
			c.mu.Lock()
			c.size = size
			c.mu.Unlock()
			return line, nil
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSuffix(string(data), "\n"), 10, 64)
			if err != nil || n < 0 {
				return "", fmt.Errorf("witness %s: 409 without a size", c.Verifier.Name())
			}
			c.mu.Lock()
			c.size = n
			c.mu.Unlock()
			continue
		default:
			return "", fmt.Errorf("witness %s: %s: %s", c.Verifier.Name(), resp.Status, firstLine(data))
		}
	}
	return "", fmt.Errorf("witness %s: still 409 after learning its size", c.Verifier.Name())
}

// checkResponse verifies the witness's cosignature over the checkpoint
// and returns its line.
func (c *Client) checkResponse(checkpoint, resp []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(resp))
	for sc.Scan() {
		l := sc.Text()
		rest, ok := strings.CutPrefix(l, "— ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		if name != c.Verifier.Name() {
			continue
		}
		msg := append(bytes.TrimRight(checkpoint, "\n"), '\n')
		msg = append(msg, []byte(l+"\n")...)
		n, err := note.Open(msg, note.VerifierList(c.Verifier))
		if err != nil || len(n.Sigs) == 0 {
			continue
		}
		return rest, nil
	}
	return "", fmt.Errorf("witness %s: no valid cosignature in its response", c.Verifier.Name())
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
