package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nixgate/nixgate/internal/cli"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"nixgate": func() {
			code := cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
			if f := os.Getenv("NIXGATE_EXITCODE_FILE"); f != "" {
				os.WriteFile(f, []byte(strconv.Itoa(code)), 0o644)
			}
			os.Exit(code)
		},
	})
}

// TestScript runs testdata/script/*.txtar: CLI behaviour, one file per
// feature. Besides testscript's own commands:
//
//	exitcode N        the last nixgate run exited with N
//	anchor DIR        copy examples/anchor to DIR and commit it to a new git repository
//	gitrepo DIR       git init DIR and commit everything in it
func TestScript(t *testing.T) {
	anchor, err := filepath.Abs("../../examples/anchor")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NIXGATE_EXITCODE_FILE", filepath.Join(env.WorkDir, ".exitcode"))
			env.Setenv("HOME", env.WorkDir)
			// An empty file of the script's own, not /dev/null: a git
			// that writes its global configuration would replace that.
			gitconfig := filepath.Join(env.WorkDir, ".gitconfig-empty")
			if err := os.WriteFile(gitconfig, nil, 0o644); err != nil {
				return err
			}
			env.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
			env.Setenv("GIT_AUTHOR_NAME", "Test")
			env.Setenv("GIT_AUTHOR_EMAIL", "test@example.org")
			env.Setenv("GIT_COMMITTER_NAME", "Test")
			env.Setenv("GIT_COMMITTER_EMAIL", "test@example.org")
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: exitcode N")
				}
				b, err := os.ReadFile(filepath.Join(ts.Getenv("WORK"), ".exitcode"))
				ts.Check(err)
				got := strings.TrimSpace(string(b))
				if (got == args[0]) == neg {
					ts.Fatalf("nixgate exited with %s, want %s%s", got, map[bool]string{true: "not ", false: ""}[neg], args[0])
				}
			},
			"anchor": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: anchor DIR")
				}
				dst := ts.MkAbs(args[0])
				ts.Check(os.CopyFS(dst, os.DirFS(anchor)))
				copySymlinks(ts, anchor, dst)
				gitCommitAll(ts, dst)
			},
			// ukifixture DIR: the real UKIs of internal/ukifixture (a
			// Debian kernel, a busybox initrd, systemd's stub, objcopy,
			// sbsign), copied to DIR.
			"ukifixture": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: ukifixture DIR")
				}
				fx, err := ukifixture.Build()
				ts.Check(err)
				ts.Check(os.CopyFS(ts.MkAbs(args[0]), os.DirFS(fx.Dir)))
				for _, k := range []string{"snakeoil.key", "other.key"} {
					ts.Check(os.Chmod(filepath.Join(ts.MkAbs(args[0]), k), 0o600))
				}
			},
			"gitrepo": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: gitrepo DIR")
				}
				gitCommitAll(ts, ts.MkAbs(args[0]))
			},
		},
	})
}

// copySymlinks recreates src's symlinks in dst (os.CopyFS refuses them).
func copySymlinks(ts *testscript.TestScript, src, dst string) {
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return err
		}
		target, err := os.Readlink(p)
		ts.Check(err)
		rel, _ := filepath.Rel(src, p)
		os.Remove(filepath.Join(dst, rel))
		ts.Check(os.Symlink(target, filepath.Join(dst, rel)))
		return nil
	})
}

func gitCommitAll(ts *testscript.TestScript, dir string) {
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A", "."},
		{"-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "initial"},
	} {
		ts.Exec("git", append([]string{"-C", dir}, args...)...)
	}
}
