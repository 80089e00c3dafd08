package ci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/progress"
	"github.com/nixgate/nixgate/internal/report"
)

// Outcome is what became of a gate.
type Outcome string

// Outcomes, by the CLI contract's exit codes.
const (
	Passed     Outcome = "passed"     // exit 0
	Failed     Outcome = "failed"     // exit 1
	Errored    Outcome = "error"      // exit 2: a usage, policy or input error
	Incomplete Outcome = "incomplete" // exit 3: could not complete
	Skipped    Outcome = "skipped"    // not run, with the reason
)

// Contract lists the checks whose findings fail nixgate ci whatever their
// severity and the policy's fail-on: CI must not sign, deploy or handle
// private keys.
var Contract = []string{"ci-signs", "host-ci-signing-keys"}

// Result is one gate's outcome.
type Result struct {
	Gate     *Gate
	Outcome  Outcome
	Exit     int
	Reason   string
	Duration time.Duration
	// Report holds the gate's findings (gates that report findings).
	Report *report.Report
	// Raw is the command's own JSON output, kept verbatim.
	Raw json.RawMessage
	// Summary is a one-line verdict for gates without findings
	// ("REPRODUCIBLE: 2 output(s)", "exit status 0").
	Summary string
	// Details are lines that explain a verdict without findings (the
	// outputs that did not reproduce).
	Details []string
	// Log is the tail of what the gate wrote to stderr (and, for a run
	// step, to stdout).
	Log []string
	// ContractFailure names the contract findings that failed the gate.
	ContractFailure string
}

// Findings returns the gate's unsuppressed findings.
func (r *Result) Findings() []check.Finding {
	if r.Report == nil || r.Report.Result == nil {
		return nil
	}
	return r.Report.Result.Findings
}

// Run is the outcome of every gate.
type Run struct {
	Target               string
	Base, Head, BaseFrom string
	ToolVersion          string
	RequireAll           bool
	// Hostname names the machine in JUnit reports ("" leaves it out).
	Hostname string
	Results  []*Result
	Duration time.Duration
}

// Exit is the run's exit code: the worst gate's, by the CLI contract (a
// failed gate before a usage error before an incomplete one); a skipped
// gate fails the run under --require-all.
func (r *Run) Exit() int {
	has := map[int]bool{}
	for _, res := range r.Results {
		switch {
		case res.Outcome == Skipped && r.RequireAll:
			has[1] = true
		case res.Outcome != Skipped:
			has[res.Exit] = true
		}
	}
	for _, c := range []int{1, 2, 3} {
		if has[c] {
			return c
		}
	}
	return 0
}

// Verdict is the run's one-word outcome.
func (r *Run) Verdict() string {
	switch r.Exit() {
	case 0:
		return "PASSED"
	case 1:
		return "FAILED"
	case 2:
		return "ERROR"
	}
	return "INCOMPLETE"
}

// Count returns how many gates had each outcome.
func (r *Run) Count() map[Outcome]int {
	n := map[Outcome]int{}
	for _, res := range r.Results {
		n[res.Outcome]++
	}
	return n
}

// Invoke runs one nixgate command line in this process (the CLI's own
// path) and returns its exit code.
type Invoke func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Runner runs planned gates.
type Runner struct {
	Invoke Invoke
	// Lookup returns a registry check by ID, for the reports read back.
	Lookup func(id string) *check.Check
	// Progress is where progress goes (stderr).
	Progress io.Writer
	// Env is the environment of run steps (default os.Environ()).
	Env []string
	// AfterStep runs after each run step (a step may change the work
	// tree: cached listings and parsed inputs are dropped).
	AfterStep func()
	// Now is the clock (tests).
	Now func() time.Time
	// Dial checks that a gate's network address answers (default: a TCP
	// connection with a short timeout).
	Dial func(ctx context.Context, addr string) error
}

// reachTimeout bounds the check that a gate's network is there.
const reachTimeout = 5 * time.Second

func dialTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// tailLines is how many lines of a gate's log a report keeps.
const tailLines = 40

// Execute runs the gates in order and returns their results.
func (rn *Runner) Execute(ctx context.Context, gates []*Gate) []*Result {
	now := rn.Now
	if now == nil {
		now = time.Now
	}
	progressW := rn.Progress
	if progressW == nil {
		progressW = io.Discard
	}
	bar := progress.New(progressW, "nixgate ci", int64(len(gates)))
	defer bar.Done()
	logw := bar.Writer(progressW)
	var out []*Result
	for i, g := range gates {
		tag := fmt.Sprintf("nixgate ci: [%d/%d] %s", i+1, len(gates), report.SafeText(g.Name))
		res := &Result{Gate: g}
		switch {
		case g.Skip != "":
			res.Outcome, res.Reason = Skipped, g.Skip
		case ctx.Err() != nil:
			res.Outcome, res.Reason = Skipped, "not run: the run's deadline passed or it was interrupted"
		default:
			for _, f := range g.Requires {
				if _, err := os.Stat(f); err != nil {
					res.Outcome, res.Reason = Skipped, fmt.Sprintf("%s does not exist (a run step or the build must produce it)", f)
					break
				}
			}
			dial := rn.Dial
			if dial == nil {
				dial = dialTCP
			}
			for _, a := range g.Reach {
				if res.Outcome == Skipped {
					break
				}
				if err := dial(ctx, a); err != nil {
					res.Outcome, res.Reason = Skipped, fmt.Sprintf("the network is not there: %s cannot be reached (%v)", a, err)
				}
			}
		}
		if res.Outcome == Skipped {
			fmt.Fprintf(logw, "%s: SKIPPED: %s\n", tag, report.SafeText(res.Reason))
			out = append(out, res)
			bar.Add(1)
			continue
		}
		fmt.Fprintf(logw, "%s: %s\n", tag, report.SafeText(g.CommandLine()))
		start := now()
		tail := &tailWriter{prefix: "  ", w: logw, max: tailLines}
		if g.Kind == KindRun {
			rn.runStep(ctx, g, res, tail)
			if rn.AfterStep != nil {
				rn.AfterStep()
			}
		} else {
			rn.runGate(ctx, g, res, tail)
		}
		res.Duration = now().Sub(start)
		res.Log = tail.lines()
		line := fmt.Sprintf("%s: %s in %s", tag, strings.ToUpper(string(res.Outcome)), FormatDuration(res.Duration))
		if n := len(res.Findings()); n > 0 {
			line += fmt.Sprintf(" (%d finding(s))", n)
		}
		if res.Reason != "" {
			line += ": " + report.SafeText(res.Reason)
		}
		fmt.Fprintln(logw, line)
		out = append(out, res)
		bar.Add(1)
	}
	return out
}

// runGate runs a nixgate command in this process and reads its report.
func (rn *Runner) runGate(ctx context.Context, g *Gate, res *Result, log *tailWriter) {
	args := slices.Clone(g.Args)
	if g.Format != "" {
		args = append(args, "--format", g.Format)
	}
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Timeout)
		defer cancel()
	}
	// Every gate gets the deadline that is left (boot-test's own
	// --timeout is its boot limit and is set by the plan).
	if dl, ok := ctx.Deadline(); ok && g.Kind != KindBootTest {
		args = append(args, "--timeout", max(time.Until(dl), time.Second).Round(time.Second).String())
	}
	var stdout bytes.Buffer
	code := rn.Invoke(ctx, args, &stdout, log)
	res.Exit = code
	res.Outcome = outcomeOf(code)
	if code == 2 || code == 3 {
		res.Reason = lastError(log.lines())
	}
	data := bytes.TrimSpace(stdout.Bytes())
	if len(data) == 0 && g.OutputFile != "" && code == 0 {
		if b, err := os.ReadFile(g.OutputFile); err == nil {
			data = bytes.TrimSpace(b)
		}
	}
	if len(data) == 0 {
		switch code {
		case 0:
			res.Outcome, res.Exit, res.Reason = Incomplete, 3, "the command wrote no report"
		case 1:
			// The command's verdict is on stderr (attest refusing a
			// dirty tree).
			res.Reason = verdictLine(log.lines())
		}
		return
	}
	if err := rn.read(g, res, data); err != nil {
		res.Outcome, res.Exit, res.Reason = Incomplete, 3, err.Error()
		return
	}
	// CI must not sign: these findings fail ci at any severity.
	var contract []string
	for _, id := range Contract {
		n := 0
		for _, f := range res.Findings() {
			if f.CheckID == id {
				n++
			}
		}
		if n > 0 {
			contract = append(contract, fmt.Sprintf("%s (%d)", id, n))
		}
	}
	if len(contract) > 0 {
		res.ContractFailure = "CI must not sign, deploy or hold signing keys: " + strings.Join(contract, ", ")
		res.Outcome, res.Exit = Failed, 1
	}
}

func (rn *Runner) read(g *Gate, res *Result, data []byte) error {
	switch g.read {
	case readReport:
		rep, err := report.ReadJSON(data, rn.Lookup)
		if err != nil {
			return err
		}
		res.Report, res.Raw = rep, json.RawMessage(data)
	case readSARIF:
		rep, err := report.ReadSARIF(data, rn.Lookup)
		if err != nil {
			return err
		}
		rep.FailOn = failOnOf(g.FailOn)
		rep.Target = g.Target
		res.Report = rep
	case readRebuild:
		var rb struct {
			Verdict string `json:"verdict"`
			Outputs []struct {
				Path         string `json:"path"`
				Reproducible bool   `json:"reproducible"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(data, &rb); err != nil {
			return fmt.Errorf("read the rebuild report: %w", err)
		}
		ok := 0
		for _, o := range rb.Outputs {
			if o.Reproducible {
				ok++
			} else {
				res.Details = append(res.Details, "not reproducible: "+o.Path)
			}
		}
		res.Summary = fmt.Sprintf("%s: %d output(s), %d reproducible", strings.ToUpper(strings.NewReplacer("_", " ", "-", " ").Replace(rb.Verdict)), len(rb.Outputs), ok)
		res.Raw = json.RawMessage(data)
	case readBoot:
		var bt struct {
			Verdict string        `json:"verdict"`
			Elapsed time.Duration `json:"elapsedNs"`
			Matched string        `json:"matched"`
			Tail    []string      `json:"tail"`
		}
		if err := json.Unmarshal(data, &bt); err != nil {
			return fmt.Errorf("read the boot test result: %w", err)
		}
		res.Summary = fmt.Sprintf("%s in %s", bt.Verdict, FormatDuration(bt.Elapsed))
		if bt.Matched != "" {
			res.Summary += fmt.Sprintf(" (matched %q)", bt.Matched)
		}
		res.Raw = json.RawMessage(data)
	case readAttest:
		var st struct {
			Type          string `json:"_type"`
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Name string `json:"name"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("read the provenance statement: %w", err)
		}
		res.Summary = fmt.Sprintf("statement of %d subject(s), predicate %s (unsigned: sign it offline)", len(st.Subject), st.PredicateType)
		res.Raw = json.RawMessage(data)
	}
	return nil
}

// runStep runs a command of the project with its timeout, in its own
// process group (killed whole on timeout or interrupt).
func (rn *Runner) runStep(ctx context.Context, g *Gate, res *Result, log *tailWriter) {
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, g.Args[0], g.Args[1:]...)
	cmd.Dir = g.Dir
	cmd.Env = rn.Env
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.Outcome, res.Exit, res.Summary = Passed, 0, "exit status 0"
	case ctx.Err() != nil:
		res.Outcome, res.Exit = Incomplete, 3
		res.Reason = "timed out or interrupted: " + ctx.Err().Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && g.Timeout > 0 {
			res.Reason = "timed out after " + g.Timeout.String()
		}
	case errors.As(err, &ee):
		res.Outcome, res.Exit = Failed, 1
		res.Summary = ee.ProcessState.String()
		res.Reason = res.Summary
	default:
		res.Outcome, res.Exit, res.Reason = Incomplete, 3, err.Error()
	}
}

func outcomeOf(code int) Outcome {
	switch code {
	case 0:
		return Passed
	case 1:
		return Failed
	case 2:
		return Errored
	}
	return Incomplete
}

// failOnOf is the threshold of a gate read from SARIF: a severity, or
// never (above every severity).
func failOnOf(s string) check.Severity {
	if s == "never" {
		return check.Critical + 1
	}
	sev, err := check.ParseSeverity(s)
	if err != nil {
		return check.High
	}
	return sev
}

// lastError is the last "nixgate: error:" line of a gate's log.
func lastError(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if m, ok := strings.CutPrefix(l, "nixgate: error: "); ok {
			return m
		}
	}
	if len(lines) > 0 {
		return strings.TrimSpace(lines[len(lines)-1])
	}
	return ""
}

// verdictLine is the first line of a gate's own verdict on stderr.
func verdictLine(lines []string) string {
	for _, l := range lines {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "nixgate: "); ok && !strings.HasPrefix(m, "hint:") && !strings.HasPrefix(m, "warning:") {
			return strings.TrimSuffix(strings.TrimPrefix(m, "error: "), ":")
		}
	}
	return lastError(lines)
}

// FormatDuration renders a duration for a report: 12ms, 1.25s, 3m04s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// tailWriter forwards a gate's output to the progress stream, line by
// line and indented, and keeps the last lines.
type tailWriter struct {
	mu      sync.Mutex
	prefix  string
	w       io.Writer
	max     int
	partial []byte
	tail    []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.line(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	// A very long line without a newline is cut, so that memory stays
	// bounded.
	if len(t.partial) > 64<<10 {
		t.line(string(t.partial[:64<<10]))
		t.partial = t.partial[:0]
	}
	return len(p), nil
}

func (t *tailWriter) line(l string) {
	l = strings.TrimRight(l, "\r")
	if t.w != nil {
		fmt.Fprintf(t.w, "%s%s\n", t.prefix, report.SafeText(l))
	}
	t.tail = append(t.tail, l)
	if len(t.tail) > t.max {
		t.tail = t.tail[len(t.tail)-t.max:]
	}
}

func (t *tailWriter) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 {
		t.line(string(t.partial))
		t.partial = nil
	}
	return slices.Clone(t.tail)
}
