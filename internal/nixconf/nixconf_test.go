package nixconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree writes files (absolute paths on the audited system) under a temp
// root and returns the Root.
func tree(t *testing.T, files map[string]string) Root {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		h := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "symlink:"); ok {
			if err := os.Symlink(target, h); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(h, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Root{Dir: dir}
}

func load(t *testing.T, files map[string]string, env map[string]string) *Config {
	t.Helper()
	if env == nil {
		env = map[string]string{"HOME": "/root"}
	}
	return Load(Options{Root: tree(t, files), Env: env})
}

type pv struct {
	Value   string
	Set     bool
	Origins []string
}

func get(c *Config, name string) pv {
	v := c.Get(name)
	var os []string
	for _, o := range v.Origins {
		os = append(os, o.String())
	}
	return pv{v.String(), v.Set, os}
}

func kinds(c *Config) []string {
	var out []string
	for _, p := range c.Problems {
		f := ""
		if p.Fatal {
			f = "!"
		}
		out = append(out, f+string(p.Kind)+"@"+p.Origin.String())
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		env      map[string]string
		setting  string
		want     pv
		problems []string
	}{
		{
			name:    "comment anywhere",
			files:   map[string]string{"/etc/nix/nix.conf": "sandbox = false # was true\n# sandbox = true\n"},
			setting: "sandbox", want: pv{"false", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name:    "hash inside a token cuts it",
			files:   map[string]string{"/etc/nix/nix.conf": "substituters = https://a.example/#frag https://b\n"},
			setting: "substituters", want: pv{"https://a.example/", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name:    "tabs and CR separate tokens; other whitespace does not",
			files:   map[string]string{"/etc/nix/nix.conf": "trusted-users\t=\troot  alice\r\n"},
			setting: "trusted-users", want: pv{"root alice", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name:    "quoted value is two odd tokens",
			files:   map[string]string{"/etc/nix/nix.conf": `trusted-users = "alice bob"` + "\n"},
			setting: "trusted-users", want: pv{`"alice bob"`, true, []string{"/etc/nix/nix.conf:1:1"}},
			problems: []string{"quoted-value@/etc/nix/nix.conf:1:17"},
		},
		{
			name:    "no lone = is fatal",
			files:   map[string]string{"/etc/nix/nix.conf": "sandbox=false\nsandbox =false\nsandbox : false\n"},
			setting: "sandbox", want: pv{"true", false, nil},
			problems: []string{"!syntax@/etc/nix/nix.conf:1:1", "!syntax@/etc/nix/nix.conf:2:9", "!syntax@/etc/nix/nix.conf:3:9"},
		},
		{
			name:    "empty value resets a list",
			files:   map[string]string{"/etc/nix/nix.conf": "substituters =\n"},
			setting: "substituters", want: pv{"", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name:    "last assignment wins",
			files:   map[string]string{"/etc/nix/nix.conf": "sandbox = false\nsandbox = relaxed\n"},
			setting: "sandbox", want: pv{"relaxed", true, []string{"/etc/nix/nix.conf:2:1"}},
		},
		{
			name:    "extra- appends to the default",
			files:   map[string]string{"/etc/nix/nix.conf": "extra-substituters = https://x.cachix.org\n"},
			setting: "substituters", want: pv{"https://cache.nixos.org/ https://x.cachix.org", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name:    "extra- appends, a later plain NAME resets",
			files:   map[string]string{"/etc/nix/nix.conf": "substituters = a\nextra-substituters = b\nsubstituters = c\nextra-substituters = d\n"},
			setting: "substituters", want: pv{"c d", true, []string{"/etc/nix/nix.conf:3:1", "/etc/nix/nix.conf:4:1"}},
		},
		{
			name:    "extra- on a non-list is unknown to Nix",
			files:   map[string]string{"/etc/nix/nix.conf": "extra-sandbox = false\n"},
			setting: "sandbox", want: pv{"true", false, nil},
			problems: []string{"unknown-setting@/etc/nix/nix.conf:1:1"},
		},
		{
			name:    "aliases",
			files:   map[string]string{"/etc/nix/nix.conf": "build-use-sandbox = false\nbinary-caches = https://h\nextra-binary-caches = https://i\ntrusted-binary-caches = https://t\nbinary-cache-public-keys = k:1\n"},
			setting: "substituters", want: pv{"https://h https://i", true, []string{"/etc/nix/nix.conf:2:1", "/etc/nix/nix.conf:3:1"}},
		},
		{
			name:    "invalid boolean is fatal and not applied",
			files:   map[string]string{"/etc/nix/nix.conf": "require-sigs = false\nrequire-sigs = \"true\"\n"},
			setting: "require-sigs", want: pv{"false", true, []string{"/etc/nix/nix.conf:1:1"}},
			problems: []string{"quoted-value@/etc/nix/nix.conf:2:16", "!invalid-value@/etc/nix/nix.conf:2:1"},
		},
		{
			name: "include is relative to the including file",
			files: map[string]string{
				"/etc/nix/nix.conf":       "sandbox = true\ninclude conf.d/a.conf\n",
				"/etc/nix/conf.d/a.conf":  "sandbox = false\n!include b.conf\n",
				"/etc/nix/conf.d/b.conf":  "sandbox = relaxed\n",
				"/etc/nix/conf.d/ignored": "sandbox = true\n",
			},
			setting: "sandbox", want: pv{"relaxed", true, []string{"/etc/nix/conf.d/b.conf:1:1"}},
		},
		{
			name:    "missing include is fatal, missing !include is not",
			files:   map[string]string{"/etc/nix/nix.conf": "include nope.conf\n!include nope2.conf\nsandbox = false\n"},
			setting: "sandbox", want: pv{"false", true, []string{"/etc/nix/nix.conf:3:1"}},
			problems: []string{"!missing-include@/etc/nix/nix.conf:1:1"},
		},
		{
			name: "include cycle is reported, not followed",
			files: map[string]string{
				"/etc/nix/nix.conf": "include a.conf\n",
				"/etc/nix/a.conf":   "sandbox = false\ninclude nix.conf\n",
			},
			setting: "sandbox", want: pv{"false", true, []string{"/etc/nix/a.conf:1:1"}},
			problems: []string{"!include-cycle@/etc/nix/a.conf:2:1"},
		},
		{
			name: "absolute symlinks resolve inside the root",
			files: map[string]string{
				"/etc/nix/nix.conf":    "symlink:/etc/static/nix.conf",
				"/etc/static/nix.conf": "sandbox = false\n",
			},
			setting: "sandbox", want: pv{"false", true, []string{"/etc/nix/nix.conf:1:1"}},
		},
		{
			name: "NIX_CONF_DIR",
			files: map[string]string{
				"/etc/nix/nix.conf": "sandbox = false\n",
				"/opt/nix/nix.conf": "sandbox = relaxed\n",
			},
			env:     map[string]string{"NIX_CONF_DIR": "/opt/nix", "HOME": "/root"},
			setting: "sandbox", want: pv{"relaxed", true, []string{"/opt/nix/nix.conf:1:1"}},
		},
		{
			name: "XDG_CONFIG_DIRS first, then XDG_CONFIG_HOME wins",
			files: map[string]string{
				"/etc/nix/nix.conf":            "trusted-users = root\n",
				"/etc/xdg/nix/nix.conf":        "trusted-users = xdg\n",
				"/opt/x1/nix/nix.conf":         "trusted-users = x1\nextra-trusted-users = x1b\n",
				"/opt/x2/nix/nix.conf":         "trusted-users = x2\n",
				"/home/u/.config/nix/nix.conf": "extra-trusted-users = home\n",
			},
			env:     map[string]string{"HOME": "/home/u", "XDG_CONFIG_DIRS": "/opt/x1:/opt/x2"},
			setting: "trusted-users", want: pv{"x1 x1b home", true, []string{"/opt/x1/nix/nix.conf:1:1", "/opt/x1/nix/nix.conf:2:1", "/home/u/.config/nix/nix.conf:1:1"}},
		},
		{
			name: "default XDG dirs",
			files: map[string]string{
				"/etc/xdg/nix/nix.conf":      "trusted-users = xdg\n",
				"/root/.config/nix/nix.conf": "extra-trusted-users = rootcfg\n",
			},
			setting: "trusted-users", want: pv{"xdg rootcfg", true, []string{"/etc/xdg/nix/nix.conf:1:1", "/root/.config/nix/nix.conf:1:1"}},
		},
		{
			name: "NIX_USER_CONF_FILES replaces XDG, first wins",
			files: map[string]string{
				"/etc/xdg/nix/nix.conf": "sandbox = false\n",
				"/a.conf":               "sandbox = relaxed\n",
				"/b.conf":               "sandbox = false\n",
			},
			env:     map[string]string{"NIX_USER_CONF_FILES": "/a.conf:/b.conf", "HOME": "/root"},
			setting: "sandbox", want: pv{"relaxed", true, []string{"/a.conf:1:1"}},
		},
		{
			name:    "NIX_CONFIG comes last",
			files:   map[string]string{"/root/.config/nix/nix.conf": "sandbox = relaxed\n"},
			env:     map[string]string{"HOME": "/root", "NIX_CONFIG": "# c\nsandbox = false"},
			setting: "sandbox", want: pv{"false", true, []string{"$NIX_CONFIG:2:1"}},
		},
		{
			name:    "default value",
			files:   map[string]string{},
			setting: "netrc-file", want: pv{"/etc/nix/netrc", false, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, tt.files, tt.env)
			if diff := cmp.Diff(tt.want, get(c, tt.setting)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.setting, diff)
			}
			if diff := cmp.Diff(tt.problems, kinds(c)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	c := Load(Options{
		Root:       tree(t, map[string]string{"/etc/nix/nix.conf": "sandbox = true\n"}),
		Env:        map[string]string{},
		Args:       []string{"--daemon", "--option", "sandbox", "false", "--no-require-sigs", "--trusted-users", "root alice", "--extra-trusted-users", "bob"},
		ArgsOrigin: "/proc/1/cmdline",
	})
	for name, want := range map[string]pv{
		"sandbox":       {"false", true, []string{"/proc/1/cmdline#arg2"}},
		"require-sigs":  {"false", true, []string{"/proc/1/cmdline#arg5"}},
		"trusted-users": {"root alice bob", true, []string{"/proc/1/cmdline#arg6", "/proc/1/cmdline#arg8"}},
	} {
		if diff := cmp.Diff(want, get(c, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestCorpus reads every real-world sample as /etc/nix/nix.conf: none may
// crash, and the known problems must show.
func TestCorpus(t *testing.T) {
	ents, err := os.ReadDir("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if e.Name() == "SOURCES.md" {
			continue
		}
		n++
		b, err := os.ReadFile(filepath.Join("testdata/corpus", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c := load(t, map[string]string{"/etc/nix/nix.conf": string(b)}, nil)
		switch {
		case strings.HasPrefix(e.Name(), "01-"), strings.HasPrefix(e.Name(), "09-"), strings.HasPrefix(e.Name(), "11-"):
			if got := c.Get("sandbox").String(); got != "false" {
				t.Errorf("%s: sandbox = %q, want false", e.Name(), got)
			}
		case strings.HasPrefix(e.Name(), "12-"):
			if !c.Bool("accept-flake-config") {
				t.Errorf("%s: accept-flake-config not true", e.Name())
			}
		case strings.HasPrefix(e.Name(), "15-"):
			if got := c.Get("sandbox"); got.String() != "true" || !got.Set {
				t.Errorf("%s: build-use-sandbox alias not applied: %+v", e.Name(), got)
			}
		case strings.HasPrefix(e.Name(), "14-"):
			if got := c.Get("substituters").String(); got != "https://cache.nixos.org https://hydra.iohk.io" {
				t.Errorf("%s: binary-caches alias: %q", e.Name(), got)
			}
		case strings.HasPrefix(e.Name(), "17-"):
			found := false
			for _, p := range c.Problems {
				found = found || p.Kind == ProblemQuoted
			}
			if !found {
				t.Errorf("%s: quoted values not reported: %v", e.Name(), kinds(c))
			}
		}
	}
	if n != 21 {
		t.Errorf("read %d samples, want 21", n)
	}
}
