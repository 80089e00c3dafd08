package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nixgate/nixgate/internal/sarifschema"
)

// The composite action (action.yml), run on this machine: each `run:` step
// with bash as GitHub runs it (bash --noprofile --norc -eo pipefail), in a
// GitHub-like environment (GITHUB_ACTIONS, RUNNER_TEMP, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, a pull_request event payload at GITHUB_EVENT_PATH),
// with the step's env, working-directory and if: evaluated. The `uses:`
// steps are other actions (setup-go, upload-sarif), external: they are
// skipped with a note, and what they would get is checked instead (Go is on
// PATH; the SARIF file validates).

type actionStep struct {
	Name             string            `yaml:"name"`
	ID               string            `yaml:"id"`
	If               string            `yaml:"if"`
	Uses             string            `yaml:"uses"`
	Shell            string            `yaml:"shell"`
	Run              string            `yaml:"run"`
	WorkingDirectory string            `yaml:"working-directory"`
	Env              map[string]string `yaml:"env"`
	With             map[string]string `yaml:"with"`
}

type actionFile struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

// actionRun is one run of the action's steps.
type actionRun struct {
	inputs  map[string]string
	outputs map[string]map[string]string // step id -> outputs
	failed  []string                     // steps that exited non-zero
	log     strings.Builder
	summary string
	action  map[string]string // the action's own outputs
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// value evaluates one expression operand.
func (r *actionRun) value(e, actionPath, runnerTemp string) string {
	e = strings.TrimSpace(e)
	switch {
	case strings.HasPrefix(e, "'") && strings.HasSuffix(e, "'"):
		return strings.Trim(e, "'")
	case strings.HasPrefix(e, "inputs."):
		return r.inputs[strings.TrimPrefix(e, "inputs.")]
	case e == "github.action_path":
		return actionPath
	case e == "runner.temp":
		return runnerTemp
	case strings.HasPrefix(e, "steps."):
		p := strings.Split(e, ".")
		if len(p) == 4 && p[2] == "outputs" {
			return r.outputs[p[1]][p[3]]
		}
	}
	panic("the test's evaluator does not know the expression " + e)
}

// cond evaluates an if: of &&-joined terms: always(), A == B, A != B.
func (r *actionRun) cond(s, actionPath, runnerTemp string) bool {
	if s == "" {
		return len(r.failed) == 0 // success()
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "${{"), "}}"))
	ok, always := true, false
	for _, term := range strings.Split(s, "&&") {
		term = strings.TrimSpace(term)
		switch {
		case term == "always()":
			always = true
		case strings.Contains(term, "!="):
			a, b, _ := strings.Cut(term, "!=")
			ok = ok && r.value(a, actionPath, runnerTemp) != r.value(b, actionPath, runnerTemp)
		case strings.Contains(term, "=="):
			a, b, _ := strings.Cut(term, "==")
			ok = ok && r.value(a, actionPath, runnerTemp) == r.value(b, actionPath, runnerTemp)
		default:
			ok = ok && r.value(term, actionPath, runnerTemp) != ""
		}
	}
	if !always && len(r.failed) > 0 {
		return false
	}
	return ok
}

// runAction runs action.yml's steps with the given inputs in workspace.
func runAction(t *testing.T, workspace string, inputs map[string]string, extraEnv ...string) *actionRun {
	t.Helper()
	actionPath, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var af actionFile
	if err := yaml.Unmarshal(must(os.ReadFile(filepath.Join(actionPath, "action.yml"))), &af); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if af.Runs.Using != "composite" {
		t.Fatalf("action.yml runs using %q, want composite (no Node)", af.Runs.Using)
	}
	r := &actionRun{inputs: map[string]string{}, outputs: map[string]map[string]string{}, action: map[string]string{}}
	for k, in := range af.Inputs {
		r.inputs[k] = in.Default
	}
	for k, v := range inputs {
		if _, ok := af.Inputs[k]; !ok {
			t.Fatalf("action.yml has no input %q", k)
		}
		r.inputs[k] = v
	}
	tmp := t.TempDir()
	runnerTemp := filepath.Join(tmp, "runner-temp")
	os.MkdirAll(runnerTemp, 0o755)
	summary := filepath.Join(tmp, "step-summary.md")
	os.WriteFile(summary, nil, 0o644)
	sub := func(s string) string {
		return exprRE.ReplaceAllStringFunc(s, func(m string) string {
			return r.value(exprRE.FindStringSubmatch(m)[1], actionPath, runnerTemp)
		})
	}
	for i, st := range af.Runs.Steps {
		label := fmt.Sprintf("step %d %q", i+1, st.Name)
		if !r.cond(st.If, actionPath, runnerTemp) {
			fmt.Fprintf(&r.log, "%s: not run (if: %s)\n", label, st.If)
			continue
		}
		if st.Uses != "" {
			with := map[string]string{}
			for k, v := range st.With {
				with[k] = sub(v)
			}
			fmt.Fprintf(&r.log, "%s: skipped: %s is an external action (with %v)\n", label, st.Uses, with)
			if !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(st.Uses) {
				t.Errorf("%s: %s is not pinned to a commit SHA", label, st.Uses)
			}
			continue
		}
		if st.Shell != "bash" {
			t.Fatalf("%s: shell %q, want bash", label, st.Shell)
		}
		out := filepath.Join(tmp, fmt.Sprintf("output-%d", i))
		os.WriteFile(out, nil, 0o644)
		script := filepath.Join(tmp, fmt.Sprintf("step-%d.sh", i))
		os.WriteFile(script, []byte(sub(st.Run)), 0o644)
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir = workspace
		if st.WorkingDirectory != "" {
			cmd.Dir = filepath.Join(workspace, sub(st.WorkingDirectory))
		}
		cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=true", "CI=true", "RUNNER_TEMP="+runnerTemp, "GITHUB_OUTPUT="+out,
			"GITHUB_STEP_SUMMARY="+summary, "GITHUB_WORKSPACE="+workspace, "GITHUB_ACTION_PATH="+actionPath, "NO_COLOR=1")
		cmd.Env = append(cmd.Env, extraEnv...)
		for k, v := range st.Env {
			cmd.Env = append(cmd.Env, k+"="+sub(v))
		}
		b, err := cmd.CombinedOutput()
		fmt.Fprintf(&r.log, "%s: ran (exit %v)\n%s", label, err, b)
		if err != nil {
			r.failed = append(r.failed, st.Name)
		}
		if st.ID != "" {
			r.outputs[st.ID] = map[string]string{}
			sc := bufio.NewScanner(bytes.NewReader(must(os.ReadFile(out))))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					r.outputs[st.ID][k] = v
				}
			}
		}
	}
	for k, o := range af.Outputs {
		r.action[k] = sub(o.Value)
	}
	r.summary = string(must(os.ReadFile(summary)))
	return r
}

// TestActionSteps runs the action's steps on a pull request of
// examples/anchor (the gates fail: the job must fail, the summary and SARIF
// must be there for the upload that runs anyway), on a clean repository
// (the job passes), and with a version input that is not a version (the
// build refuses it rather than run it).
func TestActionSteps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go is needed (setup-go's part): %v", err)
	}
	gitCfg := filepath.Join(t.TempDir(), "gitconfig")
	os.WriteFile(gitCfg, nil, 0o644)
	gitEnv := []string{"GIT_CONFIG_GLOBAL=" + gitCfg, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org"}
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), gitEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}

	t.Run("pull request", func(t *testing.T) {
		ws := filepath.Join(t.TempDir(), "workspace")
		if out, err := exec.Command("cp", "-a", "../../examples/anchor", ws).CombinedOutput(); err != nil {
			t.Fatalf("copy: %v\n%s", err, out)
		}
		git(ws, "init", "-q", "-b", "main")
		git(ws, "add", "-A")
		git(ws, "commit", "-q", "-m", "base")
		base := git(ws, "rev-parse", "HEAD")
		git(ws, "checkout", "-q", "-b", "feature")
		os.WriteFile(filepath.Join(ws, "notes.md"), []byte("a change\n"), 0o644)
		git(ws, "add", "notes.md")
		git(ws, "commit", "-q", "-m", "change")
		event := filepath.Join(t.TempDir(), "event.json")
		os.WriteFile(event, []byte(fmt.Sprintf(`{"action":"synchronize","pull_request":{"number":3,"labels":[],"base":{"ref":"main","sha":%q}}}`, base)), 0o644)
		r := runAction(t, ws, map[string]string{"args": "--skip lock"}, append(gitEnv, "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+event)...)
		t.Log(r.log.String())
		run := r.outputs["run"]
		if run["exit-code"] != "1" || r.action["exit-code"] != "1" {
			t.Errorf("exit-code %q (action output %q), want 1", run["exit-code"], r.action["exit-code"])
		}
		if len(r.failed) != 1 || r.failed[0] != "Fail when a gate failed" {
			t.Errorf("failed steps %q, want only the last one", r.failed)
		}
		if !strings.Contains(r.log.String(), "::error title=nixgate::nixgate ci exited 1") {
			t.Error("the last step did not report the exit code as an error annotation")
		}
		if !strings.HasPrefix(r.summary, "### ❌ nixgate ci: failed") || !strings.Contains(r.summary, "`pr`") {
			t.Errorf("job summary:\n%s", r.summary)
		}
		if !strings.Contains(r.log.String(), "skipped: github/codeql-action/upload-sarif@") {
			t.Error("the SARIF upload's condition did not hold")
		}
		sarif := must(os.ReadFile(run["sarif"]))
		if err := sarifschema.Validate(sarif); err != nil {
			t.Errorf("the SARIF the upload gets does not validate: %v", err)
		}
		if _, err := os.Stat(run["junit"]); err != nil {
			t.Error(err)
		}
	})

	t.Run("clean", func(t *testing.T) {
		ws := filepath.Join(t.TempDir(), "workspace")
		os.MkdirAll(filepath.Join(ws, "sub"), 0o755)
		os.WriteFile(filepath.Join(ws, "sub", "README.md"), []byte("clean\n"), 0o644)
		git(ws, "init", "-q", "-b", "main")
		git(ws, "add", "-A")
		git(ws, "commit", "-q", "-m", "clean")
		r := runAction(t, ws, map[string]string{"working-directory": "sub", "upload-sarif": "false", "args": "--only check"}, gitEnv...)
		if r.outputs["run"]["exit-code"] != "0" || len(r.failed) != 0 {
			t.Errorf("exit-code %q, failed steps %q\n%s", r.outputs["run"]["exit-code"], r.failed, r.log.String())
		}
		if strings.Contains(r.log.String(), "upload-sarif@") && !strings.Contains(r.log.String(), "not run (if:") {
			t.Error("the SARIF upload ran with upload-sarif: false")
		}
		if !strings.HasPrefix(r.summary, "### ✅ nixgate ci: passed") {
			t.Errorf("job summary:\n%s", r.summary)
		}
	})

	t.Run("bad version", func(t *testing.T) {
		ws := t.TempDir()
		r := runAction(t, ws, map[string]string{"version": "main; touch pwned"}, gitEnv...)
		if len(r.failed) == 0 || r.failed[0] != "Build nixgate" || !strings.Contains(r.log.String(), "version must be a module version") {
			t.Errorf("failed %q\n%s", r.failed, r.log.String())
		}
		if _, err := os.Stat(filepath.Join(ws, "pwned")); err == nil {
			t.Error("an input ran as shell code")
		}
	})
}

// TestGitLabTemplate: the GitLab template parses, runs nixgate ci, and
// keeps as its JUnit report the file nixgate ci writes.
func TestGitLabTemplate(t *testing.T) {
	var tpl map[string]struct {
		Variables map[string]string `yaml:"variables"`
		Script    []string          `yaml:"script"`
		Artifacts struct {
			When    string `yaml:"when"`
			Reports struct {
				JUnit string `yaml:"junit"`
			} `yaml:"reports"`
			Paths []string `yaml:"paths"`
		} `yaml:"artifacts"`
	}
	if err := yaml.Unmarshal(must(os.ReadFile("../../ci/gitlab/nixgate.yml")), &tpl); err != nil {
		t.Fatal(err)
	}
	job, ok := tpl[".nixgate"]
	if !ok {
		t.Fatal("no .nixgate job template")
	}
	script := strings.Join(job.Script, "\n")
	junit := job.Artifacts.Reports.JUnit
	if !strings.Contains(script, "nixgate ci ") || junit == "" || !strings.Contains(script, "--junit "+junit) ||
		job.Artifacts.When != "always" || job.Variables["GIT_DEPTH"] != "0" {
		t.Errorf("template: script %q, junit %q, when %q, variables %v", script, junit, job.Artifacts.When, job.Variables)
	}
	for _, p := range job.Artifacts.Paths {
		if !strings.Contains(script, " "+p) {
			t.Errorf("artefact %s is not written by the script", p)
		}
	}
}
