package ceremony

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

// ConfirmDigits is how many hex digits of the digest the operator types.
const ConfirmDigits = 8

// Confirm shows the operator what is about to be signed (the statement's
// digest, "sha256:<hex>", and its subjects) on out and asks them to type
// the first ConfirmDigits hex digits of the digest on in. Anything else is
// a refusal.
func Confirm(in io.Reader, out io.Writer, digest string, subjects []string) error {
	hexDigest := strings.TrimPrefix(digest, "sha256:")
	if len(hexDigest) < ConfirmDigits {
		return fmt.Errorf("digest %q is too short", digest)
	}
	fmt.Fprintf(out, "About to sign the statement\n  digest:   %s\n", digest)
	for i, s := range subjects {
		label := "  subject:"
		if i > 0 {
			label = "          "
		}
		fmt.Fprintf(out, "%s  %s\n", label, s)
	}
	fmt.Fprintf(out, "Type the first %d hex digits of the digest to sign: ", ConfirmDigits)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return &Refusal{Reason: "no confirmation was typed"}
	}
	typed := strings.ToLower(strings.TrimSpace(line))
	if typed != hexDigest[:ConfirmDigits] {
		if len(typed) > 3*ConfirmDigits {
			typed = typed[:3*ConfirmDigits] + "…"
		}
		return &Refusal{
			Reason: fmt.Sprintf("the operator typed %q, not the first %d hex digits of the digest", typed, ConfirmDigits),
			Hint:   "compare the digest with the one CI printed for the statement before signing",
		}
	}
	return nil
}

// Terminal is the operator's controlling terminal.
type Terminal struct {
	f *os.File
}

// OpenTerminal opens the controlling terminal (/dev/tty), where the
// ceremony's prompts go whatever stdin and stdout are.
func OpenTerminal() (*Terminal, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the terminal: %w", err)
	}
	return &Terminal{f: f}, nil
}

// Read and Write make the terminal an io.ReadWriter for Confirm.
func (t *Terminal) Read(p []byte) (int, error)  { return t.f.Read(p) }
func (t *Terminal) Write(p []byte) (int, error) { return t.f.Write(p) }

// Close closes the terminal.
func (t *Terminal) Close() error { return t.f.Close() }

// ReadPassphrase asks for a passphrase without echo.
func (t *Terminal) ReadPassphrase(prompt string) ([]byte, error) {
	fmt.Fprint(t.f, prompt)
	b, err := term.ReadPassword(int(t.f.Fd()))
	fmt.Fprintln(t.f)
	if err != nil {
		return nil, fmt.Errorf("read the passphrase: %w", err)
	}
	return b, nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// LogEntry is one line of the ceremony log: who signed what, when, with
// which key.
type LogEntry struct {
	Time     string `json:"time"`
	Operator string `json:"operator"`
	// Digest is the statement's digest ("sha256:<hex>").
	Digest   string   `json:"digest"`
	Subjects []string `json:"subjects"`
	// KeyIDs are the signing keys' IDs, KeyNames their names.
	KeyIDs   []string `json:"keyIds"`
	KeyNames []string `json:"keyNames"`
	Backends []string `json:"backends"`
	// Confirmed is false in --batch mode (no operator typed the digest).
	Confirmed bool   `json:"confirmed"`
	Statement string `json:"statement"`
	Envelope  string `json:"envelope"`
}

func getenv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// DefaultLogPath is where the ceremony log lives unless --log says
// otherwise: $XDG_STATE_HOME/nixgate/ceremony.log, else
// ~/.local/state/nixgate/ceremony.log.
func DefaultLogPath(environ []string) (string, error) {
	if d := getenv(environ, "XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "nixgate", "ceremony.log"), nil
	}
	home := getenv(environ, "HOME")
	if home == "" {
		return "", errors.New("neither XDG_STATE_HOME nor HOME is set: pass --log FILE")
	}
	return filepath.Join(home, ".local", "state", "nixgate", "ceremony.log"), nil
}

// Operator names who runs the ceremony: the login user (and the user sudo
// was run by) at the host.
func Operator(environ []string) string {
	name := "uid " + fmt.Sprint(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := getenv(environ, "SUDO_USER"); s != "" && s != name {
		name += " (sudo by " + s + ")"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return name + "@" + host
}

// AppendLog appends one JSON line to the ceremony log at path, creating
// it (mode 0600, its directory 0700) when missing. It never follows a
// symlink at path.
func AppendLog(path string, e LogEntry, now time.Time) error {
	if e.Time == "" {
		e.Time = now.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("ceremony log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("ceremony log: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("ceremony log %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ceremony log %s: %w", path, err)
	}
	return f.Close()
}
