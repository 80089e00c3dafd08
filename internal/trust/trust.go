// Package trust verifies what a build-claim log says about store paths and
// decides, under a c2sp.org/tlog-policy extended with builder groups,
// whether each path is trusted: its checkpoints are signed by the log and
// cosigned by a quorum of witnesses, consistent with the last checkpoint
// this client saw, every counted claim is included in a verified tree and
// signed by a builder of the policy, and at least k builders of the trust
// group claim the same fingerprint. Builders without a claim abstain and
// never count as agreement; every conflicting claim and every equivocation
// is reported.
//
// The evidence comes from a log over HTTP or, offline, from a directory of
// c2sp.org/tlog-proof files. The checks of scope trust (internal/checks)
// turn an Evaluation into findings.
package trust

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// SchemaVersion is the version of the Evaluation's JSON.
const SchemaVersion = 1

// Options say where the evidence comes from and what to decide.
type Options struct {
	Policy *c2sp.Policy
	// LogURL is the log to ask; ProofsDir a directory of .tlog-proof
	// files (offline). Exactly one is set.
	LogURL    string
	ProofsDir string
	// Paths are the store paths to decide; with ProofsDir and no Paths,
	// every path the proofs name.
	Paths []string
	// StateDir keeps the last checkpoint seen of each log ("" to keep
	// none).
	StateDir string
}

// Evaluation is everything verified and decided.
type Evaluation struct {
	SchemaVersion int                `json:"schemaVersion"`
	Source        string             `json:"source"`
	Offline       bool               `json:"offline"`
	Checkpoints   []CheckpointResult `json:"checkpoints"`
	Consistency   []Consistency      `json:"consistency"`
	Problems      []Problem          `json:"problems,omitempty"`
	Paths         []PathDecision     `json:"paths"`
}

// CheckpointResult is one checkpoint and how it verified.
type CheckpointResult struct {
	Origin    string   `json:"origin"`
	Size      int64    `json:"size"`
	Root      string   `json:"root"`
	Cosigners []string `json:"cosigners"`
	// Quorum is the policy's rule, such as "2 of (w1, w2, w3)".
	Quorum string `json:"quorum"`
	// Valid is set when the log's signature verifies and the quorum is
	// met; Error says why not.
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty"`
	// From is where the checkpoint came from (a URL or a proof file).
	From string `json:"from"`

	cp   c2sp.Checkpoint
	note []byte
}

// Consistency is the comparison of a checkpoint with an earlier one.
type Consistency struct {
	Origin string `json:"origin"`
	// Status is first-seen, consistent, fork, rollback, unchecked (offline
	// sizes differ: no consistency proof in tlog-proof files) or error.
	Status  string `json:"status"`
	OldSize int64  `json:"oldSize"`
	NewSize int64  `json:"newSize"`
	Detail  string `json:"detail,omitempty"`
}

// Alarm reports a fork or a rollback.
func (c Consistency) Alarm() bool { return c.Status == "fork" || c.Status == "rollback" }

// Problem is evidence that does not verify: a claim, a proof file.
type Problem struct {
	Where   string `json:"where"`
	Message string `json:"message"`
}

// ClaimResult is one verified claim.
type ClaimResult struct {
	Index       int64  `json:"index"`
	Builder     string `json:"builder"`  // the policy's name of the builder, or its key name
	KeyName     string `json:"keyName"`  // the Nix key name in the claim
	InPolicy    bool   `json:"inPolicy"` // the key is a builder of the policy
	NarHash     string `json:"narHash"`  // sha256:<nix32>
	Fingerprint string `json:"fingerprint"`
	// Proof is the inclusion proof (base64 hashes) against TreeSize.
	Proof    []string `json:"proof"`
	TreeSize int64    `json:"treeSize"`
	From     string   `json:"from"`

	claim *claim.Claim
}

// Group is the builders that claim one fingerprint.
type Group struct {
	Fingerprint string   `json:"fingerprint"`
	NarHash     string   `json:"narHash"`
	Builders    []string `json:"builders"`
	// Trusted is set when these builders meet the trust rule.
	Trusted bool `json:"trusted"`
}

// Equivocation is a builder that claimed more than one fingerprint for a
// path, with every such claim and its inclusion proof.
type Equivocation struct {
	Builder string        `json:"builder"`
	Claims  []ClaimResult `json:"claims"`
}

// PathDecision is the decision for one store path.
type PathDecision struct {
	StorePath string `json:"storePath"`
	Trusted   bool   `json:"trusted"`
	// Fingerprint is the trusted fingerprint ("" when not trusted).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Rule is the policy's trust rule, such as "2 of (A, B, C)".
	Rule string `json:"rule"`
	// Groups are the fingerprints claimed by policy builders, largest
	// first; more than one is a disagreement.
	Groups []Group `json:"groups"`
	// Abstaining are the policy builders without a valid claim.
	Abstaining   []string       `json:"abstaining"`
	Equivocating []Equivocation `json:"equivocating,omitempty"`
	// Claims are the valid claims, by index; Ignored are valid claims by
	// builders outside the policy (never counted).
	Claims  []ClaimResult `json:"claims"`
	Ignored []ClaimResult `json:"ignored,omitempty"`
	// Why explains the decision in a sentence.
	Why string `json:"why"`
}

// Matches reports whether a narinfo with this fingerprint (narinfo's
// 1;PATH;NARHASH;NARSIZE;REFS, as claim.Claim.Fingerprint renders it) is the
// path's trusted one: what `nixgate cache verify --log` asks.
func (d *PathDecision) Matches(fingerprint string) bool {
	return d.Trusted && d.Fingerprint == fingerprint
}

// Decide gathers the evidence, verifies it and decides every path.
func Decide(ctx context.Context, o Options) (*Evaluation, error) {
	if o.Policy == nil {
		return nil, errors.New("no policy")
	}
	if (o.LogURL == "") == (o.ProofsDir == "") {
		return nil, errors.New("name a log URL or a directory of proofs, not both")
	}
	ev := &Evaluation{SchemaVersion: SchemaVersion}
	var claims []ClaimResult
	var err error
	if o.LogURL != "" {
		ev.Source = o.LogURL
		claims, err = ev.online(ctx, o)
	} else {
		ev.Source, ev.Offline = o.ProofsDir, true
		claims, err = ev.offline(o)
	}
	if err != nil {
		return nil, err
	}
	paths := slices.Clone(o.Paths)
	if len(paths) == 0 {
		for _, c := range claims {
			paths = append(paths, c.claim.StorePath)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	for _, p := range paths {
		var mine []ClaimResult
		for _, c := range claims {
			if c.claim.StorePath == p {
				mine = append(mine, c)
			}
		}
		ev.Paths = append(ev.Paths, decide(o.Policy, p, mine))
	}
	return ev, nil
}

// verifyCheckpoint checks a signed checkpoint against the policy.
func verifyCheckpoint(p *c2sp.Policy, msg []byte, from string) CheckpointResult {
	r := CheckpointResult{From: from, Quorum: p.Describe(p.Quorum), note: msg}
	sn, err := c2sp.SplitNote(msg)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	cp, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Origin, r.Size, r.Root = cp.Origin, cp.Size, c2sp.EncodeHash(cp.Hash)
	v, ok := p.LogVerifier(cp.Origin)
	if !ok {
		r.Error = fmt.Sprintf("the policy lists no log with origin %q", cp.Origin)
		return r
	}
	cp, n, err := c2sp.OpenCheckpoint(msg, v, p.CosignatureVerifiers()...)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.cp = cp
	cosigned := map[string]bool{}
	for _, s := range n.Sigs {
		for _, w := range p.Witnesses {
			if s.Name == w.Verifier.Name() && s.Hash == w.Verifier.KeyHash() {
				cosigned[w.Name] = true
				r.Cosigners = append(r.Cosigners, w.Name)
			}
		}
	}
	slices.Sort(r.Cosigners)
	if !p.QuorumMet(cosigned) {
		r.Error = fmt.Sprintf("witness quorum %s not met (cosigned by: %s)", r.Quorum, orNone(r.Cosigners))
		return r
	}
	r.Valid = true
	return r
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// checkClaim parses a leaf and checks its signature (for policy builders)
// and its inclusion in the verified checkpoint.
func checkClaim(p *c2sp.Policy, cp CheckpointResult, index int64, proof tlog.RecordProof, leaf []byte, from string) (ClaimResult, *Problem) {
	where := fmt.Sprintf("%s: claim %d", from, index)
	c, err := claim.Parse(leaf)
	if err != nil {
		return ClaimResult{}, &Problem{where, err.Error()}
	}
	if !cp.Valid {
		return ClaimResult{}, &Problem{where, "its checkpoint does not verify: " + cp.Error}
	}
	if err := c2sp.CheckInclusion(cp.cp, index, proof, leaf); err != nil {
		return ClaimResult{}, &Problem{where, fmt.Sprintf("claim by %s for %s: %v", c.Builder, c.StorePath, err)}
	}
	r := ClaimResult{Index: index, Builder: c.Builder, KeyName: c.Builder, NarHash: c.NarHash, Fingerprint: c.Fingerprint(),
		TreeSize: cp.Size, From: from, claim: c}
	for _, h := range proof {
		r.Proof = append(r.Proof, c2sp.EncodeHash(h))
	}
	if b, ok := p.Builder(c.Builder); ok {
		if err := c.Verify(b.Key); err != nil {
			return ClaimResult{}, &Problem{where, fmt.Sprintf("claim by policy builder %s for %s: %v", b.Name, c.StorePath, err)}
		}
		r.Builder, r.InPolicy = b.Name, true
	}
	return r, nil
}

// online asks the log for the claims of every path.
func (ev *Evaluation) online(ctx context.Context, o Options) ([]ClaimResult, error) {
	cl, err := claimlog.NewClient(o.LogURL)
	if err != nil {
		return nil, err
	}
	cpMsg, err := cl.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	addCP := func(msg []byte) CheckpointResult {
		if i, ok := seen[string(msg)]; ok {
			return ev.Checkpoints[i]
		}
		r := verifyCheckpoint(o.Policy, msg, o.LogURL+"/checkpoint")
		ev.Checkpoints = append(ev.Checkpoints, r)
		seen[string(msg)] = len(ev.Checkpoints) - 1
		return r
	}
	addCP(cpMsg)
	var out []ClaimResult
	type fetched struct {
		cp     CheckpointResult
		claims claimlog.ClaimsResponse
	}
	var all []fetched
	for _, p := range o.Paths {
		resp, err := cl.Claims(ctx, p)
		if err != nil {
			return nil, err
		}
		all = append(all, fetched{addCP([]byte(resp.Checkpoint)), *resp})
	}
	for _, f := range all {
		for _, c := range f.claims.Claims {
			var proof tlog.RecordProof
			bad := false
			for _, h := range c.Proof {
				hh, err := c2sp.ParseHash(h)
				if err != nil {
					bad = true
					break
				}
				proof = append(proof, hh)
			}
			if bad {
				ev.Problems = append(ev.Problems, Problem{fmt.Sprintf("%s: claim %d", o.LogURL, c.Index), "malformed inclusion proof"})
				continue
			}
			r, prob := checkClaim(o.Policy, f.cp, c.Index, proof, []byte(c.Claim), o.LogURL)
			if prob != nil {
				ev.Problems = append(ev.Problems, *prob)
				continue
			}
			out = append(out, r)
		}
	}
	ev.checkConsistency(ctx, o, cl)
	return out, nil
}

// offline reads every .tlog-proof file of the directory.
func (ev *Evaluation) offline(o Options) ([]ClaimResult, error) {
	entries, err := os.ReadDir(o.ProofsDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]CheckpointResult{}
	var out []ClaimResult
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tlog-proof") || !e.Type().IsRegular() {
			continue
		}
		n++
		path := filepath.Join(o.ProofsDir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		p, err := c2sp.ParseProof(data)
		if err != nil {
			ev.Problems = append(ev.Problems, Problem{path, err.Error()})
			continue
		}
		cp, ok := seen[string(p.Checkpoint)]
		if !ok {
			cp = verifyCheckpoint(o.Policy, p.Checkpoint, path)
			seen[string(p.Checkpoint)] = cp
			ev.Checkpoints = append(ev.Checkpoints, cp)
		}
		if p.Extra == nil {
			ev.Problems = append(ev.Problems, Problem{path, "no extra data: the claim is missing"})
			continue
		}
		r, prob := checkClaim(o.Policy, cp, p.Index, p.Inclusion, p.Extra, path)
		if prob != nil {
			ev.Problems = append(ev.Problems, *prob)
			continue
		}
		out = append(out, r)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s has no .tlog-proof file", o.ProofsDir)
	}
	ev.checkConsistency(context.Background(), o, nil)
	return out, nil
}

// checkConsistency compares the verified checkpoints with each other and
// with the last one this client saw, and saves the newest consistent one.
func (ev *Evaluation) checkConsistency(ctx context.Context, o Options, cl *claimlog.Client) {
	byOrigin := map[string][]CheckpointResult{}
	for _, c := range ev.Checkpoints {
		if c.Valid {
			byOrigin[c.Origin] = append(byOrigin[c.Origin], c)
		}
	}
	origins := make([]string, 0, len(byOrigin))
	for k := range byOrigin {
		origins = append(origins, k)
	}
	slices.Sort(origins)
	for _, origin := range origins {
		cps := byOrigin[origin]
		slices.SortFunc(cps, func(a, b CheckpointResult) int { return int(a.Size - b.Size) })
		newest := cps[len(cps)-1]
		alarm := false
		// Between the checkpoints gathered in this run.
		for i := 1; i < len(cps); i++ {
			c := ev.compare(ctx, cl, cps[i-1], cps[i])
			if c.Status != "consistent" {
				ev.Consistency = append(ev.Consistency, c)
				alarm = alarm || c.Alarm()
			}
		}
		// With the state.
		var st *State
		if o.StateDir != "" {
			st = &State{Dir: o.StateDir}
		}
		var old *CheckpointResult
		if st != nil {
			if msg, err := st.Load(origin); err != nil {
				ev.Consistency = append(ev.Consistency, Consistency{Origin: origin, Status: "error", Detail: err.Error()})
				continue
			} else if msg != nil {
				r, err := stateCheckpoint(o.Policy, msg)
				if err != nil {
					ev.Consistency = append(ev.Consistency, Consistency{Origin: origin, Status: "error", Detail: st.path(origin) + ": " + err.Error()})
					continue
				}
				r.From = st.path(origin)
				old = &r
			}
		}
		var c Consistency
		if old == nil {
			c = Consistency{Origin: origin, Status: "first-seen", NewSize: newest.Size}
		} else {
			c = ev.compare(ctx, cl, *old, newest)
			if ev.Offline && c.Status == "rollback" {
				// An offline proof may be older than what this client
				// saw: that is no rollback of the log.
				c = Consistency{Origin: origin, Status: "unchecked", OldSize: old.Size, NewSize: newest.Size,
					Detail: "the proofs' checkpoint is older than the last one seen; tlog-proof files carry no consistency proof"}
			}
		}
		ev.Consistency = append(ev.Consistency, c)
		alarm = alarm || c.Alarm()
		if st != nil && !alarm && !ev.Offline && (old == nil || newest.Size > old.Size) && c.Status != "error" {
			if err := st.Save(origin, newest.note); err != nil {
				ev.Problems = append(ev.Problems, Problem{st.path(origin), "save the last checkpoint seen: " + err.Error()})
			}
		}
	}
}

// stateCheckpoint reads a saved checkpoint: it needs the log's signature
// (the witness quorum was checked when it was saved).
func stateCheckpoint(p *c2sp.Policy, msg []byte) (CheckpointResult, error) {
	sn, err := c2sp.SplitNote(msg)
	if err != nil {
		return CheckpointResult{}, err
	}
	cp, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		return CheckpointResult{}, err
	}
	v, ok := p.LogVerifier(cp.Origin)
	if !ok {
		return CheckpointResult{}, fmt.Errorf("the policy lists no log %q", cp.Origin)
	}
	if cp, _, err = c2sp.OpenCheckpoint(msg, v); err != nil {
		return CheckpointResult{}, err
	}
	return CheckpointResult{Origin: cp.Origin, Size: cp.Size, Root: c2sp.EncodeHash(cp.Hash), Valid: true, cp: cp, note: msg}, nil
}

// compare checks that b extends a (b.Size >= a.Size).
func (ev *Evaluation) compare(ctx context.Context, cl *claimlog.Client, a, b CheckpointResult) Consistency {
	c := Consistency{Origin: b.Origin, OldSize: a.Size, NewSize: b.Size, Status: "consistent"}
	switch {
	case b.Size < a.Size:
		c.Status, c.Detail = "rollback", fmt.Sprintf("the log now shows size %d; this client saw size %d (%s)", b.Size, a.Size, a.From)
	case b.Size == a.Size:
		if a.cp.Hash != b.cp.Hash {
			c.Status, c.Detail = "fork", fmt.Sprintf("two roots for size %d: %s (%s) and %s (%s)", a.Size, a.Root, a.From, b.Root, b.From)
		}
	case a.Size == 0:
	case cl == nil:
		c.Status, c.Detail = "unchecked", "offline: tlog-proof files carry no consistency proof"
	default:
		p, err := cl.Consistency(ctx, a.Size, b.Size)
		if err != nil {
			c.Status, c.Detail = "error", err.Error()
			return c
		}
		if err := tlog.CheckTree(p, b.Size, b.cp.Hash, a.Size, a.cp.Hash); err != nil {
			c.Status, c.Detail = "fork", fmt.Sprintf("the tree of size %d does not extend the one of size %d that this client saw: %v", b.Size, a.Size, err)
		}
	}
	return c
}

// Claim is "claims" after one builder and "claim" after several.
func Claim(builders []string) string {
	if len(builders) == 1 {
		return "claims"
	}
	return "claim"
}

// decide applies the trust rule to the valid claims of one path.
func decide(p *c2sp.Policy, path string, claims []ClaimResult) PathDecision {
	d := PathDecision{StorePath: path, Rule: p.Describe(p.Trust), Abstaining: []string{}, Groups: []Group{}, Claims: []ClaimResult{}}
	if p.Trust == "" {
		d.Rule = "none (the policy has no trust line)"
	}
	slices.SortFunc(claims, func(a, b ClaimResult) int { return int(a.Index - b.Index) })
	byBuilder := map[string][]ClaimResult{}
	for _, c := range claims {
		if !c.InPolicy {
			d.Ignored = append(d.Ignored, c)
			continue
		}
		d.Claims = append(d.Claims, c)
		// The same fingerprint claimed twice (through two checkpoints)
		// is one claim.
		if !slices.ContainsFunc(byBuilder[c.Builder], func(x ClaimResult) bool { return x.Fingerprint == c.Fingerprint }) {
			byBuilder[c.Builder] = append(byBuilder[c.Builder], c)
		}
	}
	groups := map[string]*Group{}
	var order []string
	for _, b := range p.Builders {
		cs := byBuilder[b.Name]
		switch {
		case len(cs) == 0:
			d.Abstaining = append(d.Abstaining, b.Name)
		case len(cs) > 1:
			d.Equivocating = append(d.Equivocating, Equivocation{Builder: b.Name, Claims: cs})
		default:
			fp := cs[0].Fingerprint
			g, ok := groups[fp]
			if !ok {
				g = &Group{Fingerprint: fp, NarHash: cs[0].NarHash}
				groups[fp] = g
				order = append(order, fp)
			}
			g.Builders = append(g.Builders, b.Name)
		}
	}
	var trusted []*Group
	for _, fp := range order {
		g := groups[fp]
		have := map[string]bool{}
		for _, b := range g.Builders {
			have[b] = true
		}
		g.Trusted = p.TrustMet(have)
		if g.Trusted {
			trusted = append(trusted, g)
		}
		d.Groups = append(d.Groups, *g)
	}
	slices.SortStableFunc(d.Groups, func(a, b Group) int { return len(b.Builders) - len(a.Builders) })
	switch {
	case len(trusted) == 1:
		d.Trusted, d.Fingerprint = true, trusted[0].Fingerprint
		d.Why = fmt.Sprintf("%s is met by %s", d.Rule, strings.Join(trusted[0].Builders, ", "))
	case len(trusted) > 1:
		d.Why = fmt.Sprintf("%d different NAR hashes each meet %s: the rule cannot tell which output is right", len(trusted), d.Rule)
	case len(claims) == 0:
		d.Why = "no builder of the policy has a valid claim for this path"
	default:
		best := 0
		if len(d.Groups) > 0 {
			best = len(d.Groups[0].Builders)
		}
		d.Why = fmt.Sprintf("at most %d builder(s) agree on one NAR hash; %s is not met (abstaining: %s)", best, d.Rule, orNone(d.Abstaining))
	}
	return d
}

// State keeps the last checkpoint seen of each log, by origin.
type State struct {
	Dir string
}

func (s *State) path(origin string) string {
	return filepath.Join(s.Dir, "log", fmt.Sprintf("%x.checkpoint", sha256.Sum256([]byte(origin))))
}

// Load returns the last checkpoint saved for origin, nil when none.
func (s *State) Load(origin string) ([]byte, error) {
	b, err := os.ReadFile(s.path(origin))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last checkpoint seen: %w", err)
	}
	return b, nil
}

// Save replaces the checkpoint saved for origin, atomically.
func (s *State) Save(origin string, note []byte) error {
	p := s.path(origin)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".checkpoint-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(note); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	tmp.Close()
	return os.Rename(tmp.Name(), p)
}

// StateDir is $XDG_STATE_HOME/nixgate (default ~/.local/state/nixgate).
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

// Failed reports whether anything does not verify or a path is not
// trusted.
func (ev *Evaluation) Failed() bool {
	if len(ev.Problems) > 0 {
		return true
	}
	for _, c := range ev.Checkpoints {
		if !c.Valid {
			return true
		}
	}
	for _, c := range ev.Consistency {
		if c.Alarm() {
			return true
		}
	}
	for _, p := range ev.Paths {
		if !p.Trusted {
			return true
		}
	}
	return false
}
