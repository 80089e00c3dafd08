// Package boottest boots an EFI image (a UKI) in QEMU with OVMF firmware,
// with or without Secure Boot enforced, and reports whether it booted (the
// expected text appeared on the serial console), was refused by the
// firmware ("Access Denied"), or neither in time.
package boottest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// Verdicts.
const (
	Booted  = "BOOTED"
	Refused = "REFUSED"
	Timeout = "TIMEOUT"
	// Stopped: the machine powered off or QEMU exited without the
	// expected text and without a refusal.
	Stopped = "STOPPED"
)

// Firmware is a pair of OVMF (or AAVMF) flash images.
type Firmware struct {
	Name string `json:"name"`
	Code string `json:"code"`
	Vars string `json:"vars"`
	// Secure: the code needs SMM and the vars enforce Secure Boot.
	Secure bool `json:"secure"`
}

// Known firmware builds, by architecture and mode, in order of preference.
// Debian's snakeoil build enforces Secure Boot with a db that trusts the
// snakeoil certificate shipped beside it (/usr/share/ovmf/PkKek-1-snakeoil.pem).
var known = map[string][]Firmware{
	"x86_64/secure": {
		{"OVMF snakeoil (Debian)", "/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd", "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", true},
		{"OVMF with Microsoft keys (Debian)", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true},
		{"OVMF secboot (Fedora)", "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", true},
	},
	"x86_64/plain": {
		{"OVMF (Debian)", "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", false},
		{"OVMF (Fedora)", "/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd", false},
	},
	"aarch64/secure": {
		{"AAVMF snakeoil (Debian)", "/usr/share/AAVMF/AAVMF_CODE.snakeoil.fd", "/usr/share/AAVMF/AAVMF_VARS.snakeoil.fd", true},
		{"AAVMF with Microsoft keys (Debian)", "/usr/share/AAVMF/AAVMF_CODE.ms.fd", "/usr/share/AAVMF/AAVMF_VARS.ms.fd", true},
	},
	"aarch64/plain": {
		{"AAVMF (Debian)", "/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd", false},
	},
}

// FindFirmware returns the first installed firmware for arch and mode
// ("secure" or "plain").
func FindFirmware(arch, mode string) (Firmware, error) {
	list, ok := known[arch+"/"+mode]
	if !ok {
		return Firmware{}, fmt.Errorf("no firmware known for %s with --firmware %s", arch, mode)
	}
	var tried []string
	for _, f := range list {
		if exists(f.Code) && exists(f.Vars) {
			return f, nil
		}
		tried = append(tried, f.Code)
	}
	return Firmware{}, fmt.Errorf("no %s firmware for %s is installed (looked for %s); install ovmf (x86_64) or qemu-efi-aarch64, or pass --code and --vars", mode, arch, strings.Join(tried, ", "))
}

func exists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Options configure a boot.
type Options struct {
	Image    string
	Arch     string // x86_64 (default) or aarch64
	Firmware Firmware
	// Expect is the text whose appearance on the serial console means the
	// image booted.
	Expect  string
	Timeout time.Duration
	// MemoryMiB is the guest's memory (default 512).
	MemoryMiB int
	// Accel is QEMU's accelerator: "tcg" (the default) or "kvm". KVM is
	// opt-in: on nested hosts /dev/kvm opens but lacks SMM, which the
	// Secure Boot firmware needs.
	Accel string
	// Progress receives one line a stage; nil for none.
	Progress io.Writer
}

// Result is the outcome of a boot.
type Result struct {
	Verdict  string        `json:"verdict"`
	Image    string        `json:"image"`
	Arch     string        `json:"arch"`
	Firmware Firmware      `json:"firmware"`
	Accel    string        `json:"accel"`
	Expect   string        `json:"expect"`
	Matched  string        `json:"matched,omitempty"`
	Elapsed  time.Duration `json:"elapsedNs"`
	// Tail is the end of the serial log, ANSI escapes removed.
	Tail    []string `json:"tail"`
	Command []string `json:"command"`
}

// refusal matches the firmware's messages for an image it will not run.
var refusal = lazyre.New(`(?i)(failed to (load|start) Boot[0-9A-F]{4} .*: (Access Denied|Security Violation))|Image failed to verify|Verification failed: \(0x1A\) Security Violation`)

var ansi = lazyre.New(`\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\x1bc`)

// Run boots opts.Image and waits for the verdict.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Arch == "" {
		opts.Arch = "x86_64"
	}
	if opts.MemoryMiB == 0 {
		opts.MemoryMiB = 512
	}
	if opts.Timeout == 0 {
		opts.Timeout = 180 * time.Second
	}
	res := &Result{Image: opts.Image, Arch: opts.Arch, Firmware: opts.Firmware, Expect: opts.Expect, Tail: []string{}}
	work, err := os.MkdirTemp("", "nixgate-boot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	boot := "BOOTX64.EFI"
	if opts.Arch == "aarch64" {
		boot = "BOOTAA64.EFI"
	}
	esp := filepath.Join(work, "esp")
	if err := os.MkdirAll(filepath.Join(esp, "EFI", "BOOT"), 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(opts.Image, filepath.Join(esp, "EFI", "BOOT", boot)); err != nil {
		return nil, fmt.Errorf("copy the image to the ESP: %w", err)
	}
	// Each boot gets its own copy of the variable store.
	vars := filepath.Join(work, "vars.fd")
	if err := copyFile(opts.Firmware.Vars, vars); err != nil {
		return nil, fmt.Errorf("copy the firmware variables: %w", err)
	}
	args, accel, bin := qemuArgs(opts, esp, vars)
	res.Accel = accel
	res.Command = append([]string{bin}, args...)
	if _, err := exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("%s is not installed (install qemu-system-x86 or qemu-system-arm): %w", bin, err)
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "nixgate: booting %s with %s (%s, timeout %s)\n", opts.Image, opts.Firmware.Name, accel, opts.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	var (
		mu      sync.Mutex
		log     []string
		verdict string
		matched string
	)
	found := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(scanLinesOrCR)
		for sc.Scan() {
			line := strings.TrimRight(ansi().ReplaceAllString(sc.Text(), ""), " \r")
			if line == "" {
				continue
			}
			mu.Lock()
			log = append(log, line)
			if len(log) > 400 {
				log = log[len(log)-200:]
			}
			if verdict == "" {
				switch {
				case opts.Expect != "" && strings.Contains(line, opts.Expect):
					verdict, matched = Booted, line
				case refusal().MatchString(line):
					verdict, matched = Refused, line
				}
				if verdict != "" {
					once.Do(func() { close(found) })
				}
			}
			mu.Unlock()
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var waitErr error
	select {
	case <-found:
		cmd.Process.Kill()
		<-waited
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waited
	case waitErr = <-waited:
	}
	res.Elapsed = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	res.Verdict, res.Matched = verdict, matched
	if res.Verdict == "" {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			res.Verdict = Timeout
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case waitErr != nil && len(log) == 0:
			return nil, fmt.Errorf("%s failed: %v: %s", bin, waitErr, strings.TrimSpace(stderr.String()))
		default:
			res.Verdict = Stopped
		}
	}
	n := min(len(log), 20)
	res.Tail = append(res.Tail, log[len(log)-n:]...)
	return res, nil
}

func qemuArgs(opts Options, esp, vars string) (args []string, accel, bin string) {
	accel = opts.Accel
	if accel == "" {
		accel = "tcg"
	}
	mem := fmt.Sprint(opts.MemoryMiB)
	if opts.Arch == "aarch64" {
		bin = "qemu-system-aarch64"
		args = []string{"-machine", "virt,accel=" + accel, "-cpu", "max"}
		if accel == "tcg" {
			args[1] = "virt"
			args = append(args, "-accel", "tcg")
		}
	} else {
		bin = "qemu-system-x86_64"
		m := "q35"
		if opts.Firmware.Secure {
			m += ",smm=on"
		}
		args = []string{"-machine", m + ",accel=" + accel}
		if opts.Firmware.Secure {
			args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
	}
	args = append(args,
		"-m", mem,
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+opts.Firmware.Code,
		"-drive", "if=pflash,format=raw,unit=1,file="+vars,
		"-drive", "if=virtio,format=raw,file=fat:rw:"+esp,
		"-nodefaults", "-display", "none", "-serial", "stdio", "-net", "none", "-no-reboot",
	)
	return args, accel, bin
}

// scanLinesOrCR splits on \n or \r, so that firmware output that redraws
// a line still arrives line by line.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
