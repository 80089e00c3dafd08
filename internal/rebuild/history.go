package rebuild

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver "sqlite"
)

// StateDir is nixgate's state directory: $XDG_STATE_HOME/nixgate, else
// ~/.local/state/nixgate.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "nixgate"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "nixgate"), nil
}

// History is the local record of rebuilds.
type History struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id           INTEGER PRIMARY KEY,
	started      TEXT NOT NULL,
	seconds      REAL NOT NULL,
	installables TEXT NOT NULL,
	builders     TEXT NOT NULL,
	verdict      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
	run_id       INTEGER NOT NULL REFERENCES runs(id),
	drv          TEXT NOT NULL,
	output       TEXT NOT NULL,
	path         TEXT NOT NULL,
	builder      TEXT NOT NULL,
	nar_hash     TEXT NOT NULL,
	nar_size     INTEGER NOT NULL,
	reproducible INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outputs_run ON outputs(run_id);
CREATE INDEX IF NOT EXISTS outputs_drv ON outputs(drv, output);
`

// OpenHistory opens (creating it when needed) the database in dir.
func OpenHistory(dir string) (*History, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "rebuild.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history: %w", err)
	}
	return &History{db: db}, nil
}

// Close closes the database.
func (h *History) Close() error { return h.db.Close() }

// Record stores a report.
func (h *History) Record(ctx context.Context, r *Report) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var names []string
	for _, b := range r.Builders {
		names = append(names, b.Name)
	}
	inst, _ := json.Marshal(r.Installables)
	bs, _ := json.Marshal(names)
	res, err := tx.ExecContext(ctx, `INSERT INTO runs(started, seconds, installables, builders, verdict) VALUES(?,?,?,?,?)`,
		r.Started.UTC().Format(time.RFC3339Nano), r.Seconds, string(inst), string(bs), r.Verdict)
	if err != nil {
		return fmt.Errorf("record rebuild: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, o := range r.Outputs {
		for _, hs := range o.Hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outputs VALUES(?,?,?,?,?,?,?,?)`,
				id, o.Drv, o.Output, o.Path, hs.Builder, hs.NarHash, hs.NarSize, o.Reproducible); err != nil {
				return fmt.Errorf("record rebuild: %w", err)
			}
		}
	}
	return tx.Commit()
}

// HistoryRun is one recorded rebuild.
type HistoryRun struct {
	ID           int64     `json:"id"`
	Started      time.Time `json:"started"`
	Seconds      float64   `json:"seconds"`
	Installables []string  `json:"installables"`
	Builders     []string  `json:"builders"`
	Verdict      string    `json:"verdict"`
	Outputs      []RunHash `json:"outputs"`
}

// RunHash is one output's hash on one builder in a recorded run.
type RunHash struct {
	Run          int64     `json:"run,omitempty"`
	Started      time.Time `json:"started,omitzero"`
	Drv          string    `json:"drv,omitempty"`
	Path         string    `json:"path"`
	Output       string    `json:"output"`
	Builder      string    `json:"builder"`
	NarHash      string    `json:"narHash"`
	Reproducible bool      `json:"reproducible"`
}

func (h *History) count(ctx context.Context) (int, error) {
	var n int
	if err := h.db.QueryRowContext(ctx, `SELECT count(*) FROM runs`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read history: %w", err)
	}
	return n, nil
}

// Hashes returns every recorded hash of a derivation's output, oldest run
// first.
func (h *History) Hashes(ctx context.Context, drv, output string) ([]RunHash, error) {
	rows, err := h.db.QueryContext(ctx, `SELECT o.run_id, r.started, o.path, o.builder, o.nar_hash, o.reproducible
		FROM outputs o JOIN runs r ON r.id = o.run_id WHERE o.drv = ? AND o.output = ? ORDER BY o.run_id, o.builder`, drv, output)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []RunHash
	for rows.Next() {
		x := RunHash{Drv: drv, Output: output}
		var started string
		if err := rows.Scan(&x.Run, &started, &x.Path, &x.Builder, &x.NarHash, &x.Reproducible); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		x.Started, _ = time.Parse(time.RFC3339Nano, started)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Inconsistent is a derivation output recorded with more than one hash
// across runs (or builders).
type Inconsistent struct {
	Drv    string    `json:"drv"`
	Output string    `json:"output"`
	Path   string    `json:"path"`
	Hashes []RunHash `json:"hashes"`
}

// Check lists every derivation output whose recorded hashes differ
// (filter keeps the runs whose installables contain it; "" for all).
func (h *History) Check(ctx context.Context, filter string) ([]Inconsistent, error) {
	q := `SELECT o.drv, o.output FROM outputs o JOIN runs r ON r.id = o.run_id`
	var args []any
	if filter != "" {
		q += ` WHERE instr(r.installables, ?) > 0`
		args = append(args, filter)
	}
	q += ` GROUP BY o.drv, o.output HAVING count(DISTINCT o.nar_hash) > 1 ORDER BY o.drv, o.output`
	rows, err := h.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	type key struct{ drv, out string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.drv, &k.out); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read history: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []Inconsistent{}
	for _, k := range keys {
		hs, err := h.Hashes(ctx, k.drv, k.out)
		if err != nil {
			return nil, err
		}
		in := Inconsistent{Drv: k.drv, Output: k.out, Hashes: hs}
		if len(hs) > 0 {
			in.Path = hs[0].Path
		}
		out = append(out, in)
	}
	return out, nil
}

// WriteCheck renders the result of Check as text or json.
func WriteCheck(w io.Writer, format string, runs int, bad []Inconsistent) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"schemaVersion": 1, "runs": runs, "inconsistent": bad})
	}
	var b strings.Builder
	if len(bad) == 0 {
		fmt.Fprintf(&b, "consistent: every derivation output recorded in %d run(s) has one hash\n", runs)
	} else {
		fmt.Fprintf(&b, "NOT REPRODUCIBLE across runs: %d derivation output(s) recorded with different hashes (%d run(s))\n", len(bad), runs)
	}
	for _, in := range bad {
		fmt.Fprintf(&b, "\n%s (%s of %s)\n", in.Path, in.Output, shortDrv(in.Drv))
		for _, x := range in.Hashes {
			fmt.Fprintf(&b, "     run #%-4d %s  %-12s %s\n", x.Run, x.Started.Format(time.RFC3339), x.Builder, x.NarHash)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Runs lists recorded runs, newest first; filter keeps the runs whose
// installables contain it ("" for all).
func (h *History) Runs(ctx context.Context, filter string, limit int) ([]HistoryRun, error) {
	q := `SELECT id, started, seconds, installables, builders, verdict FROM runs`
	var args []any
	if filter != "" {
		q += ` WHERE instr(installables, ?) > 0`
		args = append(args, filter)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := h.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var runs []HistoryRun
	for rows.Next() {
		var r HistoryRun
		var started, inst, bs string
		if err := rows.Scan(&r.ID, &started, &r.Seconds, &inst, &bs, &r.Verdict); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		r.Started, _ = time.Parse(time.RFC3339Nano, started)
		json.Unmarshal([]byte(inst), &r.Installables)
		json.Unmarshal([]byte(bs), &r.Builders)
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range runs {
		orows, err := h.db.QueryContext(ctx, `SELECT path, output, builder, nar_hash, reproducible FROM outputs WHERE run_id = ? ORDER BY path, output, builder`, runs[i].ID)
		if err != nil {
			return nil, err
		}
		for orows.Next() {
			var o RunHash
			if err := orows.Scan(&o.Path, &o.Output, &o.Builder, &o.NarHash, &o.Reproducible); err != nil {
				orows.Close()
				return nil, err
			}
			runs[i].Outputs = append(runs[i].Outputs, o)
		}
		orows.Close()
	}
	return runs, nil
}

// WriteHistory renders runs as text or json.
func WriteHistory(w io.Writer, format string, runs []HistoryRun) error {
	if format == "json" {
		if runs == nil {
			runs = []HistoryRun{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"schemaVersion": 1, "runs": runs})
	}
	var b strings.Builder
	if len(runs) == 0 {
		b.WriteString("no rebuilds recorded\n")
	}
	for _, r := range runs {
		fmt.Fprintf(&b, "#%d  %s  %-16s %6.1fs  %s  [%s]\n", r.ID, r.Started.Format(time.RFC3339), r.Verdict, r.Seconds,
			strings.Join(r.Installables, " "), strings.Join(r.Builders, ", "))
		last := ""
		for _, o := range r.Outputs {
			if !o.Reproducible && o.Path+o.Output != last {
				fmt.Fprintf(&b, "      differs: %s (%s)\n", o.Path, o.Output)
				last = o.Path + o.Output
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// compareHistory compares every output of rep with the hashes recorded
// for the same derivation output by earlier runs: a differing one makes
// the output not reproducible (a stamp of a day's resolution is the same
// on two builders of one run, and differs the next day).
func compareHistory(ctx context.Context, rep *Report, h *History) error {
	n, err := h.count(ctx)
	if err != nil {
		return err
	}
	rep.HistoryRuns = &n
	for i := range rep.Outputs {
		o := &rep.Outputs[i]
		earlier, err := h.Hashes(ctx, o.Drv, o.Output)
		if err != nil {
			return err
		}
		now := map[string]bool{}
		for _, hs := range o.Hashes {
			now[hs.NarHash] = true
		}
		if len(now) == 0 {
			continue
		}
		for _, e := range earlier {
			if !now[e.NarHash] {
				o.History = append(o.History, e)
			}
		}
		if len(o.History) > 0 {
			o.Reproducible = false
			if o.Status == StatusReproducible {
				o.Status = StatusHistory
			}
		}
	}
	return nil
}
