package nixcli

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWrapped(t *testing.T) {
	tests := []struct {
		e    Exec
		want string
	}{
		{Exec{}, "nix-store --realise x"},
		{Exec{CPUs: []int{1}}, "taskset --cpu-list 1 nix-store --realise x"},
		{Exec{ClockShift: 1000 * time.Second}, "unshare --time --monotonic 1000 --boottime 1000 --fork --kill-child=SIGKILL -- nix-store --realise x"},
		{Exec{PIDNamespace: true, ClockShift: 5 * time.Second, CPUs: []int{0, 3}},
			"unshare --pid --mount --mount-proc --time --monotonic 5 --boottime 5 --fork --kill-child=SIGKILL -- taskset --cpu-list 0,3 nix-store --realise x"},
	}
	for _, tc := range tests {
		name, args := tc.e.wrapped("nix-store", []string{"--realise", "x"})
		if got := strings.Join(append([]string{name}, args...), " "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

// Nix's own messages (2.8), as they reach the error.
func TestLastError(t *testing.T) {
	fod := "building '/nix/store/x-fod.drv'...\n" +
		"error: hash mismatch in fixed-output derivation '/nix/store/x-fod.drv':\n" +
		"         specified: sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" +
		"            got:    sha256-mE1IpMnb/ArV+GitdGyqzGHwp9O2JARrM/M5mg1fClU=\n"
	if got, want := lastError(fod), "hash mismatch in fixed-output derivation '/nix/store/x-fod.drv': specified: sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= got: sha256-mE1IpMnb/ArV+GitdGyqzGHwp9O2JARrM/M5mg1fClU="; got != want {
		t.Errorf("lastError = %q, want %q", got, want)
	}
	m := HashMismatches(fod)
	if len(m) != 1 || m[0].Drv != "/nix/store/x-fod.drv" || m[0].Got != "sha256-mE1IpMnb/ArV+GitdGyqzGHwp9O2JARrM/M5mg1fClU=" {
		t.Errorf("HashMismatches = %+v", m)
	}
	failed := "error: builder for '/nix/store/y.drv' failed with exit code 1;\n       last 2 log lines:\n       > one\n       > two\n       For full logs, run 'nix log /nix/store/y.drv'.\n"
	if got, want := lastError(failed), "builder for '/nix/store/y.drv' failed with exit code 1"; got != want {
		t.Errorf("lastError = %q, want %q", got, want)
	}
}

// TestActivity: the internal-json log's build activities and their lines.
func TestActivity(t *testing.T) {
	act := NewActivity()
	l := &jsonLog{w: &strings.Builder{}, res: &RealiseResult{}, act: act}
	l.Write([]byte(`@nix {"action":"start","id":7,"level":3,"text":"building '/nix/store/a.drv'","type":105,"fields":["/nix/store/a.drv","",1,1]}
@nix {"action":"result","id":7,"type":101,"fields":["compiling"]}
@nix {"action":"result","id":7,"type":101,"fields":["linking"]}
`))
	if r := act.Running(); len(r) != 1 || r[0].Drv != "/nix/store/a.drv" {
		t.Errorf("running %+v", r)
	}
	l.Write([]byte(`@nix {"action":"stop","id":7}` + "\n"))
	if r := act.Running(); len(r) != 0 {
		t.Errorf("running after stop %+v", r)
	}
	if tail := act.LogTail("/nix/store/a.drv"); !slices.Equal(tail, []string{"compiling", "linking"}) {
		t.Errorf("tail %q", tail)
	}
	if !slices.Equal(l.res.Built, []string{"/nix/store/a.drv"}) {
		t.Errorf("built %q", l.res.Built)
	}
}
