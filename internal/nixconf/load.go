package nixconf

import (
	"path"
	"strings"
)

// Options says whose configuration to load.
type Options struct {
	// Root confines every file read (see Root).
	Root Root
	// Env is the environment of the process whose configuration this is:
	// NIX_CONF_DIR, NIX_USER_CONF_FILES, XDG_CONFIG_HOME, XDG_CONFIG_DIRS,
	// HOME and NIX_CONFIG are read from it.
	Env map[string]string
	// Home is used when Env has no HOME (a daemon started without one).
	Home string
	// Args is the process's command line (without argv[0]); `--option
	// NAME VALUE` and `--NAME VALUE` / `--[no-]NAME` apply after every
	// file, as on Nix's command line.
	Args []string
	// ArgsOrigin names the command line in origins, such as
	// "/proc/812/cmdline".
	ArgsOrigin string
}

// Load reads a configuration from its sources in Nix's order
// (src/libstore/globals.cc loadConfFile):
//
//  1. $NIX_CONF_DIR/nix.conf (NIX_CONF_DIR defaults to /etc/nix);
//  2. the user files, last one first: the colon-separated
//     $NIX_USER_CONF_FILES when set, otherwise $XDG_CONFIG_HOME/nix/nix.conf
//     (default ~/.config) then each of $XDG_CONFIG_DIRS/nix/nix.conf
//     (default /etc/xdg) — so XDG_CONFIG_DIRS are applied first and
//     XDG_CONFIG_HOME wins;
//  3. the text of $NIX_CONFIG;
//  4. command-line options.
//
// A missing file is skipped, as Nix skips it. Load never fails: problems
// are recorded in Config.Problems.
func Load(o Options) *Config {
	env := func(k string) (string, bool) {
		v, ok := o.Env[k]
		return v, ok
	}
	confDir := "/etc/nix"
	if v, ok := env("NIX_CONF_DIR"); ok && v != "" {
		confDir = path.Clean(v)
	}
	cfg := &Config{ConfDir: confDir}
	l := &loader{root: o.Root, cfg: cfg}
	l.applyFile(path.Join(confDir, "nix.conf"), SourceSystem, nil)

	files := UserFiles(o.Env, o.Home)
	for i := len(files) - 1; i >= 0; i-- {
		l.applyFile(files[i], SourceUser, nil)
	}
	if v, ok := env("NIX_CONFIG"); ok {
		cfg.Files = append(cfg.Files, &File{Path: "$NIX_CONFIG", Kind: SourceEnv, Exists: true})
		l.applyText(v, "$NIX_CONFIG", "/")
	}
	if len(o.Args) > 0 {
		name := o.ArgsOrigin
		if name == "" {
			name = "command line"
		}
		l.applyArgs(o.Args, name)
	}
	return cfg
}

// UserFiles lists the user configuration files Nix reads for env, in
// priority order (the first one wins; Nix applies them in reverse).
func UserFiles(env map[string]string, home string) []string {
	if v, ok := env["NIX_USER_CONF_FILES"]; ok {
		return splitColon(v)
	}
	if h, ok := env["HOME"]; ok && h != "" {
		home = h
	}
	configHome := env["XDG_CONFIG_HOME"]
	if configHome == "" {
		if home == "" {
			home = "/root"
		}
		configHome = path.Join(home, ".config")
	}
	dirs := []string{configHome}
	if v, ok := env["XDG_CONFIG_DIRS"]; ok && v != "" {
		dirs = append(dirs, splitColon(v)...)
	} else {
		dirs = append(dirs, "/etc/xdg")
	}
	var files []string
	for _, d := range dirs {
		files = append(files, path.Join(d, "nix", "nix.conf"))
	}
	return files
}

func splitColon(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyArgs applies Nix command-line options: `--option NAME VALUE`,
// `--NAME VALUE` for a known setting, and `--NAME` / `--no-NAME` for a
// boolean one. Other arguments are skipped.
func (l *loader) applyArgs(args []string, name string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		o := Origin{File: name, Column: i + 1}
		at := func(int) Origin { return o }
		if a == "--option" && i+2 < len(args) {
			l.set(args[i+1], tokenStrings(args[i+2]), o, at)
			i += 2
			continue
		}
		n, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		if s, known := Lookup(n); known {
			if s.Kind == KindBool {
				l.set(n, []string{"true"}, o, at)
			} else if i+1 < len(args) {
				l.set(n, tokenStrings(args[i+1]), o, at)
				i++
			}
			continue
		}
		if b, ok := strings.CutPrefix(n, "extra-"); ok && i+1 < len(args) {
			if s, known := Lookup(b); known && s.Appendable() {
				l.set(n, tokenStrings(args[i+1]), o, at)
				i++
				continue
			}
		}
		if b, ok := strings.CutPrefix(n, "no-"); ok {
			if s, known := Lookup(b); known && s.Kind == KindBool {
				l.set(b, []string{"false"}, o, at)
			}
		}
	}
}

func tokenStrings(s string) []string {
	var out []string
	for _, t := range tokenize(s) {
		out = append(out, t.text)
	}
	return out
}
