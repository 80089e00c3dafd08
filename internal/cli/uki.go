package cli

import (
	"bufio"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/boottest"
	"github.com/nixgate/nixgate/internal/ceremony"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/efisig"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/uki"
)

func newUKICmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uki",
		Short: "Inspect, check, verify, sign and compare unified kernel images; boot them under Secure Boot",
		Long: `Unified kernel images (a UEFI stub with the kernel, initrd, command line and
policies in PE sections), the way Secure Boot and R14 judge them: "Nix builds
the artifact. Secure Boot decides whether it runs." See docs/uki.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newUKIInspectCmd(e), newUKICheckCmd(e), newUKIVerifyCmd(e), newUKISignCmd(e), newUKIDiffCmd(e), newUKIBootTestCmd(e))
	return cmd
}

// The checks of each uki command (all of scope uki).
var (
	ukiCheckIDs  = []string{"uki-cmdline", "uki-kconfig", "uki-layout", "uki-policy-files", "uki-sections"}
	ukiVerifyIDs = []string{"uki-lanzaboote", "uki-layout", "uki-signature", "uki-signature-bad"}
	ukiDiffIDs   = []string{"uki-diff"}
)

// ukiGate resolves the gate flags and keeps the checks of one command.
func ukiGate(g *gateFlags, ids []string) (*gate, error) {
	r, err := g.resolve(".")
	if err != nil {
		return nil, err
	}
	r.checks = slices.DeleteFunc(r.checks, func(c *check.Check) bool { return !slices.Contains(ids, c.ID) })
	if len(r.checks) == 0 && len(g.only) > 0 {
		return nil, withHint(usagef("--only %s selects none of this command's checks", strings.Join(g.only, ",")),
			"this command runs "+strings.Join(ids, ", "))
	}
	return r, nil
}

func openImage(path string) (*uki.Image, error) {
	im, err := uki.Open(path)
	if err != nil {
		return nil, badInput(fmt.Errorf("open image: %w", err))
	}
	return im, nil
}

func newUKIInspectCmd(e *env) *cobra.Command {
	var noInitrd, allFiles, authHash bool
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "List a UKI's sections with sizes and hashes, its text sections, initrd files and kernel configuration",
		Long: `Lists the PE sections of FILE (.linux .initrd .cmdline .osrel .uname .sbat
.pcrsig .pcrpkey .dtb .splash .profile, lanzaboote's .linuxh/.initrdh, and any
other), each with its file offset, size and SHA-256 (of the VirtualSize-trimmed
data); the text of .cmdline, .osrel, .uname and .sbat; the initrd's files (cpio
newc or odc, uncompressed or gzip/xz/zstd/lz4/bzip2/lzma, concatenated
archives); the kernel's version, payload compression and, when it was built
with CONFIG_IKCONFIG, its embedded configuration; and layout problems.

Text shows the first 40 initrd files (--files for all); JSON has everything.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			im, err := openImage(args[0])
			if err != nil {
				return err
			}
			defer im.Close()
			ins, err := im.Inspect(uki.InspectOptions{Initrd: !noInitrd, Kernel: true, Authenticode: authHash})
			if err != nil {
				return incompletef("inspect %s: %w", args[0], err)
			}
			if out.Format == "json" {
				b, err := json.MarshalIndent(ins, "", "  ")
				if err != nil {
					return err
				}
				out.W.Write(append(b, '\n'))
			} else {
				writeInspectText(out.W, ins, allFiles)
			}
			return out.Commit()
		},
	}
	o = addOutputFlags(cmd, "text", "json")
	cmd.Flags().BoolVar(&noInitrd, "no-initrd", false, "do not list the initrd's files")
	cmd.Flags().BoolVar(&allFiles, "files", false, "list every initrd file in text output")
	cmd.Flags().BoolVar(&authHash, "authenticode", false, "also compute the Authenticode image hash (what a signature signs; uki verify shows it too)")
	return cmd
}

func writeInspectText(w io.Writer, ins *uki.Inspection, all bool) {
	s := report.SafeText
	fmt.Fprintf(w, "%s: %s PE image, %d bytes, %d signature(s)\n", s(ins.File), ins.Machine, ins.Size, ins.Signatures)
	if ins.AuthenticodeSHA256 != "" {
		fmt.Fprintf(w, "authenticode sha256: %s\n", ins.AuthenticodeSHA256)
	}
	if ins.Lanzaboote {
		fmt.Fprintln(w, "lanzaboote thin stub: the kernel and initrd are files on the ESP, signed only by hash")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tVMA\tOFFSET\tSIZE\tSHA256")
	for _, sec := range ins.Sections {
		fmt.Fprintf(tw, "%s\t%#x\t%#x\t%d\t%s\n", s(sec.Name), sec.VirtualAddress, sec.Offset, sec.Size, sec.SHA256)
	}
	tw.Flush()
	for _, sec := range ins.Sections {
		if sec.Text == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", s(sec.Name))
		for _, l := range strings.Split(strings.TrimRight(sec.Text, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", s(l))
		}
	}
	if k := ins.Kernel; k != nil {
		fmt.Fprintf(w, "\nkernel: %s", k.Format)
		if k.Protocol != "" {
			fmt.Fprintf(w, ", boot protocol %s", k.Protocol)
		}
		if k.Compression != "" {
			fmt.Fprintf(w, ", %s payload of %d bytes", k.Compression, k.PayloadSize)
		}
		if k.UncompressedSize > 0 {
			fmt.Fprintf(w, " (%d decompressed)", k.UncompressedSize)
		}
		fmt.Fprintln(w)
		if k.Version != "" {
			fmt.Fprintf(w, "  version: %s\n", s(k.Version))
		}
		switch {
		case k.HasConfig:
			fmt.Fprintf(w, "  embedded configuration (IKCONFIG): %d lines (JSON output has the text)\n", strings.Count(ins.KernelConfig, "\n"))
		case k.Problem != "":
			fmt.Fprintf(w, "  embedded configuration: unknown (%s)\n", s(k.Problem))
		default:
			fmt.Fprintln(w, "  embedded configuration: none (built without CONFIG_IKCONFIG)")
		}
	}
	if in := ins.Initrd; in != nil {
		var parts []string
		for _, sg := range in.Segments {
			parts = append(parts, fmt.Sprintf("%s at %d (%d entries)", sg.Compression, sg.Offset, sg.Entries))
		}
		fmt.Fprintf(w, "\ninitrd: %d file(s) in %d archive(s): %s\n", len(in.Files), len(in.Segments), strings.Join(parts, ", "))
		n := len(in.Files)
		if !all {
			n = min(n, 40)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range in.Files[:n] {
			name := s(f.Path)
			if f.Link != "" {
				name += " -> " + s(f.Link)
			}
			fmt.Fprintf(tw, "  %s\t%d:%d\t%d\t%s\n", f.Mode, f.UID, f.GID, f.Size, name)
		}
		tw.Flush()
		if n < len(in.Files) {
			fmt.Fprintf(w, "  … %d more (--files lists them all)\n", len(in.Files)-n)
		}
		for _, p := range in.Problems {
			fmt.Fprintf(w, "  problem: %s\n", s(p))
		}
	}
	if len(ins.Problems) > 0 {
		fmt.Fprintln(w, "\nlayout problems:")
		for _, p := range ins.Problems {
			fmt.Fprintf(w, "  %s\n", s(p))
		}
	}
}

func newUKICheckCmd(e *env) *cobra.Command {
	g := &gateFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Gate a UKI's content on the policy: command line, kernel configuration, embedded policies, layout",
		Long: `Runs the uki checks of the policy on FILE: the command line has the required
init= and nothing of the deny list and passes the command-line rules of the
kconfig profiles (uki-cmdline); the kernel's embedded configuration passes the
profiles (uki-kconfig, the engine of nixgate kconfig); the policy files the
policy names are in the initrd (or are sections) and match their schemas
(uki-policy-files, the engine of policy-schema); no section overlaps another or
the certificate table (uki-layout); the required sections exist
(uki-sections).

Findings are located in the image: a section by its name (.cmdline), an
initrd file under initrd/.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			gt, err := ukiGate(g, ukiCheckIDs)
			if err != nil {
				return err
			}
			im, err := openImage(args[0])
			if err != nil {
				return err
			}
			defer im.Close()
			res := check.Run(cmd.Context(), gt.checks, gt.settings, check.Target{Input: &uki.Target{Image: im}}, gt.baseline)
			rep := &report.Report{Command: "uki check", Target: args[0], ToolVersion: Version(), FailOn: gt.failOn, Result: res}
			return writeReport(e, out, rep)
		},
	}
	o = addOutputFlags(cmd)
	g.add(cmd, "./nixgate.toml", check.ScopeUKI)
	return cmd
}

// readCerts reads PEM (or DER) certificates.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%s: no PEM certificate and not a DER one: %w", path, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func readStore(path string) (*authenticode.Store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lists, err := efisig.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := authenticode.StoreFromLists(lists)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// ukiVerifyExtra is the "extra" section of the verify report.
type ukiVerifyExtra struct {
	Verification *authenticode.Result `json:"verification"`
	ESP          []uki.ESPFile        `json:"esp,omitempty"`
}

func newUKIVerifyCmd(e *env) *cobra.Command {
	g := &gateFlags{}
	var certs, dbs, dbxs []string
	var esp string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "verify FILE (--cert CERT.pem | --db DB.esl) [--dbx DBX.esl]",
		Short: "Verify every Authenticode signature of a UKI the way Secure Boot does, and then some",
		Long: `Verifies each signature in FILE's certificate table, not only the first: that
the SpcIndirectDataContent digest is the image's Authenticode hash, that the
signed messageDigest attribute is the hash of that content (a transplanted
signature fails here, where go-uefi's Verify passes it), the signature over the
signed attributes, and the chain from the signer to a trusted certificate:
--cert CERT (PEM or DER, repeatable) or the X.509 entries of --db ESL (an EFI
signature list or .auth; its SHA-256 entries allow an image by hash). Like the
firmware, every trusted certificate is an anchor and validity periods are not
checked. --dbx ESL forbids image hashes and certificates (x509 and
x509-sha256 entries).

For a lanzaboote thin stub, --esp DIR checks the kernel and initrd it loads
against its .linuxh/.initrdh hashes.

Findings: uki-signature (the firmware's verdict), uki-signature-bad (each bad
signature), uki-layout, uki-lanzaboote.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(certs) == 0 && len(dbs) == 0 {
				return usagef("name the trusted certificates with --cert FILE or --db ESL")
			}
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			gt, err := ukiGate(g, ukiVerifyIDs)
			if err != nil {
				return err
			}
			db := &authenticode.Store{}
			for _, c := range certs {
				cs, err := readCerts(c)
				if err != nil {
					return badInput(fmt.Errorf("--cert: %w", err))
				}
				db.Certs = append(db.Certs, cs...)
			}
			for _, d := range dbs {
				st, err := readStore(d)
				if err != nil {
					return badInput(fmt.Errorf("--db: %w", err))
				}
				db = mergeStores(db, st)
			}
			var dbx *authenticode.Store
			for _, d := range dbxs {
				st, err := readStore(d)
				if err != nil {
					return badInput(fmt.Errorf("--dbx: %w", err))
				}
				if dbx == nil {
					dbx = &authenticode.Store{}
				}
				dbx = mergeStores(dbx, st)
			}
			im, err := openImage(args[0])
			if err != nil {
				return err
			}
			defer im.Close()
			v, err := authenticode.Verify(im.File, db, dbx)
			if err != nil {
				return badInput(fmt.Errorf("verify %s: %w", args[0], err))
			}
			t := &uki.Target{Image: im, Verify: v, ESPDir: esp}
			if esp != "" {
				if t.ESP, err = im.VerifyESP(esp); err != nil {
					return badInput(fmt.Errorf("--esp: %w", err))
				}
			}
			res := check.Run(cmd.Context(), gt.checks, gt.settings, check.Target{Input: t}, gt.baseline)
			rep := &report.Report{Command: "uki verify", Target: args[0], ToolVersion: Version(), FailOn: gt.failOn, Result: res,
				Extra: ukiVerifyExtra{Verification: v, ESP: t.ESP}}
			if out.Format == "text" || out.Format == "markdown" {
				writeVerifySummary(out.W, out.Format, v, t.ESP)
			}
			return writeReport(e, out, rep)
		},
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&certs, "cert", nil, "trusted certificate `FILE` (PEM or DER; repeatable)")
	fl.StringArrayVar(&dbs, "db", nil, "trusted signature list `ESL` (an EFI signature list or .auth; repeatable)")
	fl.StringArrayVar(&dbxs, "dbx", nil, "forbidden signature list `ESL` (repeatable)")
	fl.StringVar(&esp, "esp", "", "lanzaboote stubs: the ESP `DIR` that holds the kernel and initrd the stub names")
	g.add(cmd, "./nixgate.toml", check.ScopeUKI)
	return cmd
}

func mergeStores(a, b *authenticode.Store) *authenticode.Store {
	out := &authenticode.Store{Certs: append(a.Certs, b.Certs...), Skipped: a.Skipped + b.Skipped,
		ImageHashes: map[crypto.Hash][][]byte{}, TBSHashes: map[crypto.Hash][][]byte{}}
	for _, s := range []*authenticode.Store{a, b} {
		for h, l := range s.ImageHashes {
			out.ImageHashes[h] = append(out.ImageHashes[h], l...)
		}
		for h, l := range s.TBSHashes {
			out.TBSHashes[h] = append(out.TBSHashes[h], l...)
		}
	}
	return out
}

func writeVerifySummary(w io.Writer, format string, v *authenticode.Result, esp []uki.ESPFile) {
	b := ""
	if format == "markdown" {
		b = "- "
	}
	s := report.SafeText
	fmt.Fprintf(w, "%sverdict: %s: %s\n", b, strings.ToUpper(string(v.Verdict)), s(v.Reason))
	fmt.Fprintf(w, "%sauthenticode sha256: %s\n", b, v.ImageHash)
	for _, sig := range v.Signatures {
		state := "BAD"
		switch {
		case sig.Revoked:
			state = "REVOKED"
		case sig.Trusted:
			state = "TRUSTED"
		case sig.Good:
			state = "VALID, UNTRUSTED"
		}
		signer := sig.Signer
		if signer == "" {
			signer = "unknown signer"
		}
		fmt.Fprintf(w, "%ssignature %d at %#x: %s (%s)\n", b, sig.Index, sig.Offset, state, s(signer))
		for _, st := range sig.Steps {
			mark := "ok  "
			if !st.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "  %s%s %s: %s\n", b, mark, st.Name, s(st.Detail))
		}
	}
	for _, f := range esp {
		state := "MATCHES"
		if !f.OK {
			state = "DOES NOT MATCH"
		}
		fmt.Fprintf(w, "%sESP %s %s: %s %s\n", b, f.What, s(f.Path), state, f.HashSection)
	}
	fmt.Fprintln(w)
}

func newUKISignCmd(e *env) *cobra.Command {
	var key, certPath, output string
	var chain []string
	var batch bool
	cmd := &cobra.Command{
		Use:   "sign --key KEY --cert CERT IN -o OUT",
		Short: "Sign a UKI offline (the signing ceremony: refused in CI)",
		Long: `Signs IN with KEY (PEM: PKCS#8, PKCS#1 or EC; not encrypted) and CERT, and
writes OUT: IN padded to 8 bytes with a certificate table appended (or a new
entry appended to the existing one), the certificate directory entry and the
PE checksum updated, nothing else changed (nixgate uki diff IN OUT proves it).
RSA signatures carry no signing time, so signing is reproducible.

Signing is an offline ceremony, refused exactly as nixgate sign refuses it:
inside a CI job (any CI marker in the environment), with a key file its group
or others can read, and without an operator at a terminal to confirm the
image's digest (--batch skips the confirmation, still never in CI).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || certPath == "" || output == "" {
				return usagef("--key, --cert and --output are required")
			}
			if err := ceremony.Guard(ceremony.Conditions{Environ: os.Environ(), Batch: batch, Interactive: isTerminal(os.Stdin)}); err != nil {
				return ceremonyError(err)
			}
			if err := ceremony.CheckKeyFile(key); err != nil {
				return ceremonyError(err)
			}
			in, err := os.ReadFile(args[0])
			if err != nil {
				return badInput(fmt.Errorf("read %s: %w", args[0], err))
			}
			kb, err := os.ReadFile(key)
			if err != nil {
				return badInput(fmt.Errorf("read key: %w", err))
			}
			signer, err := authenticode.ParseKey(kb)
			if err != nil {
				return badInput(fmt.Errorf("key %s: %w", key, err))
			}
			certs, err := readCerts(certPath)
			if err != nil {
				return badInput(fmt.Errorf("--cert: %w", err))
			}
			var inter []*x509.Certificate
			for _, c := range chain {
				cs, err := readCerts(c)
				if err != nil {
					return badInput(fmt.Errorf("--chain: %w", err))
				}
				inter = append(inter, cs...)
			}
			if _, err := uki.Parse(strings.NewReader(string(in)), int64(len(in))); err != nil {
				return badInput(fmt.Errorf("%s: %w", args[0], err))
			}
			if !batch {
				digest, err := authenticode.SigningDigest(in, crypto.SHA256)
				if err != nil {
					digest = nil
				}
				fmt.Fprintf(e.stderr, "nixgate: sign %s (authenticode sha256 %s) as %s? type yes: ", args[0], hex.EncodeToString(digest), certs[0].Subject)
				line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					return usagef("not confirmed: nothing signed")
				}
			}
			signed, err := authenticode.Sign(in, signer, certs[0], append(certs[1:], inter...))
			if err != nil {
				return badInput(fmt.Errorf("sign %s: %w", args[0], err))
			}
			if err := writeFileAtomic(output, signed); err != nil {
				return incompletef("write %s: %w", output, err)
			}
			fmt.Fprintf(e.stderr, "nixgate: wrote %s (%d bytes), signed by %s\n", output, len(signed), certs[0].Subject)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "private key `FILE` (PEM, mode 0600)")
	fl.StringVar(&certPath, "cert", "", "signing certificate `FILE` (PEM)")
	fl.StringArrayVar(&chain, "chain", nil, "intermediate certificate `FILE` to embed (repeatable)")
	fl.StringVarP(&output, "output", "o", "", "write the signed image to `FILE` (atomically)")
	fl.BoolVar(&batch, "batch", false, "do not ask the operator to confirm (on the signing machine; still refused in CI)")
	return cmd
}

func ceremonyError(err error) error {
	var r *ceremony.Refusal
	if errors.As(err, &r) && r.Hint != "" {
		return withHint(&UsageError{Err: err}, r.Hint)
	}
	return &UsageError{Err: err}
}

func newUKIDiffCmd(e *env) *cobra.Command {
	g := &gateFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "diff UNSIGNED SIGNED",
		Short: "Prove that signing changed nothing but the signature",
		Long: `Compares UNSIGNED with SIGNED byte by byte. Only the PE checksum, the
certificate-table directory entry, the zero padding that aligns the table to 8
bytes and the appended certificate table may differ, and the Authenticode
digest of UNSIGNED (laid out for signing) must equal SIGNED's and the digest
every signature carries. Anything else is a uki-diff finding, with its byte
range and the section it falls in.

` + exitCodesHelp,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			gt, err := ukiGate(g, ukiDiffIDs)
			if err != nil {
				return err
			}
			a, err := openImage(args[0])
			if err != nil {
				return err
			}
			defer a.Close()
			b, err := openImage(args[1])
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := uki.Diff(a, b)
			if err != nil {
				return incompletef("diff: %w", err)
			}
			res := check.Run(cmd.Context(), gt.checks, gt.settings, check.Target{Input: &uki.Target{Image: b, Diff: d}}, gt.baseline)
			rep := &report.Report{Command: "uki diff", Target: args[0] + " " + args[1], ToolVersion: Version(), FailOn: gt.failOn, Result: res, Extra: d}
			if out.Format == "text" || out.Format == "markdown" {
				writeDiffSummary(out.W, out.Format, d)
			}
			return writeReport(e, out, rep)
		},
	}
	o = addOutputFlags(cmd)
	g.add(cmd, "./nixgate.toml", check.ScopeUKI)
	return cmd
}

func writeDiffSummary(w io.Writer, format string, d *uki.DiffResult) {
	b := ""
	if format == "markdown" {
		b = "- "
	}
	eq := "EQUAL"
	if !d.DigestsEqual() {
		eq = "DIFFERENT"
	}
	fmt.Fprintf(w, "%sauthenticode sha256: %s (unsigned, laid out for signing), %s (signed): %s\n", b, d.OldDigest, d.NewDigest, eq)
	for i, s := range d.Signed {
		fmt.Fprintf(w, "%ssignature %d signs: %s\n", b, i+1, report.SafeText(s))
	}
	for _, c := range d.Changes {
		mark := "allowed"
		if !c.Allowed {
			mark = "NOT ALLOWED"
		}
		fmt.Fprintf(w, "%s[%#x, %#x) %s, %s: %s (%s)\n", b, c.Start, c.End, c.Kind, c.Where, c.Detail, mark)
	}
	fmt.Fprintln(w)
}

func newUKIBootTestCmd(e *env) *cobra.Command {
	var fw, expect, code, vars, arch, accel string
	var timeout time.Duration
	var mem int
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "boot-test FILE",
		Short: "Boot a UKI in QEMU with OVMF, Secure Boot enforced or not",
		Long: `Boots FILE as EFI/BOOT/BOOTX64.EFI of a FAT directory in qemu-system-x86_64
(TCG; --accel kvm where KVM works) with OVMF firmware and the serial console on a
pipe, and stops as soon as the expected text appears (BOOTED) or the firmware
refuses the image ("Access Denied", "Security Violation": REFUSED); TIMEOUT
when neither happens in time, STOPPED when the machine powers off without
either. The serial log's tail is printed.

--firmware secure finds OVMF's Secure-Boot-enforcing build (on Debian, the
snakeoil code and vars from the ovmf package, whose db trusts
/usr/share/ovmf/PkKek-1-snakeoil.pem); --firmware plain boots without Secure
Boot; --code FILE --vars FILE name other firmware (the vars are copied, never
written). --arch aarch64 uses qemu-system-aarch64 and AAVMF.

Exit 0 only for BOOTED; 1 for REFUSED, TIMEOUT and STOPPED; 3 when QEMU or the
firmware is missing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			if fw != "secure" && fw != "plain" {
				return usagef("--firmware %q: want secure or plain", fw)
			}
			if accel != "tcg" && accel != "kvm" {
				return usagef("--accel %q: want tcg or kvm", accel)
			}
			if arch != "x86_64" && arch != "aarch64" {
				return usagef("--arch %q: want x86_64 or aarch64", arch)
			}
			if _, err := os.Stat(args[0]); err != nil {
				return badInput(err)
			}
			var f boottest.Firmware
			switch {
			case code != "" || vars != "":
				if code == "" || vars == "" {
					return usagef("--code and --vars go together")
				}
				for _, p := range []string{code, vars} {
					if _, err := os.Stat(p); err != nil {
						return badInput(fmt.Errorf("firmware: %w", err))
					}
				}
				f = boottest.Firmware{Name: "custom", Code: code, Vars: vars, Secure: fw == "secure"}
			default:
				if f, err = boottest.FindFirmware(arch, fw); err != nil {
					return incompletef("%w", err)
				}
			}
			res, err := boottest.Run(cmd.Context(), boottest.Options{Image: args[0], Arch: arch, Firmware: f, Expect: expect,
				Timeout: timeout, MemoryMiB: mem, Accel: accel, Progress: e.stderr})
			if err != nil {
				return incompletef("boot test: %w", err)
			}
			if out.Format == "json" {
				b, err := json.MarshalIndent(struct {
					SchemaVersion int `json:"schemaVersion"`
					*boottest.Result
				}{1, res}, "", "  ")
				if err != nil {
					return err
				}
				out.W.Write(append(b, '\n'))
			} else {
				fmt.Fprintf(out.W, "%s: %s in %.1fs (%s, %s)\n", res.Verdict, report.SafeText(args[0]), res.Elapsed.Seconds(), f.Name, res.Accel)
				if res.Matched != "" {
					fmt.Fprintf(out.W, "matched: %s\n", report.SafeText(res.Matched))
				}
				fmt.Fprintln(out.W, "serial log (tail):")
				for _, l := range res.Tail {
					fmt.Fprintf(out.W, "  %s\n", report.SafeText(l))
				}
			}
			if err := out.Commit(); err != nil {
				return err
			}
			if res.Verdict != boottest.Booted {
				return ErrFindings
			}
			return nil
		},
	}
	o = addOutputFlags(cmd, "text", "json")
	fl := cmd.Flags()
	fl.StringVar(&fw, "firmware", "secure", "`MODE`: secure (Secure Boot enforced) or plain")
	fl.StringVar(&expect, "expect", "Linux version", "`TEXT` on the serial console that means the image booted")
	fl.DurationVar(&timeout, "timeout", 180*time.Second, "give up after `DURATION`")
	fl.StringVar(&code, "code", "", "firmware code `FILE` (with --vars)")
	fl.StringVar(&vars, "vars", "", "firmware variables `FILE` (copied; with --code)")
	fl.StringVar(&arch, "arch", "x86_64", "guest architecture `ARCH`: x86_64 or aarch64")
	fl.IntVar(&mem, "memory", 512, "guest memory in `MiB`")
	fl.StringVar(&accel, "accel", "tcg", "QEMU accelerator `NAME`: tcg, or kvm where it works (nested hosts often lack the SMM Secure Boot needs)")
	return cmd
}
