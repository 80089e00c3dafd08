package kconfig

// VersionHint is a kernel release that a configuration's options prove:
// kconfig writes only the symbols the kernel's Kconfig files define, so a
// configuration that mentions Symbol (set or "is not set") was written by
// a kernel at least as new as Version.
type VersionHint struct {
	Version Version `json:"version"`
	Symbol  string  `json:"symbol,omitempty"`
	Line    int     `json:"line,omitempty"`
}

// versionMarkers are symbols that appeared in a mainline release as part
// of a large change that stable kernels and distributions have not carried
// back (unlike CPU mitigations, which are backported everywhere). Each
// version was checked against the corpus: no configuration whose header
// claims an older kernel mentions the symbol.
var versionMarkers = []struct {
	sym string
	v   Version
}{
	// "kconfig: add CC_IS_GCC and GCC_VERSION" (Linux 4.18).
	{"CC_IS_GCC", Version{4, 18, 0}},
	// CC_STACKPROTECTOR renamed to STACKPROTECTOR (Linux 4.18).
	{"STACKPROTECTOR", Version{4, 18, 0}},
	// INIT_STACK_ALL replaced by INIT_STACK_ALL_PATTERN/_ZERO (Linux 5.9).
	{"INIT_STACK_ALL_ZERO", Version{5, 9, 0}},
	// -fzero-call-used-regs support (Linux 5.15).
	{"ZERO_CALL_USED_REGS", Version{5, 15, 0}},
	// randstruct for Clang, GCC_PLUGIN_RANDSTRUCT renamed (Linux 5.19).
	{"RANDSTRUCT_FULL", Version{5, 19, 0}},
	// Rust support merged (Linux 6.1).
	{"RUST", Version{6, 1, 0}},
	// Per-size random kmalloc caches (Linux 6.6).
	{"RANDOM_KMALLOC_CACHES", Version{6, 6, 0}},
	// Linked-list hardening split from DEBUG_LIST (Linux 6.6).
	{"LIST_HARDENED", Version{6, 6, 0}},
	// Dedicated slab buckets for user-controlled allocations (Linux 6.11).
	{"SLAB_BUCKETS", Version{6, 11, 0}},
	// GCC_PLUGIN_STACKLEAK renamed to KSTACK_ERASE (Linux 6.17).
	{"KSTACK_ERASE", Version{6, 17, 0}},
}

// inferVersion sets c.Inferred from the markers the options mention and
// c.Version: the header's version, raised to the inferred one when the
// header claims an older kernel (a header is a comment anyone can edit;
// the options are what the kernel was built from).
func inferVersion(c *Config) {
	for _, m := range versionMarkers {
		o, ok := c.Options[m.sym]
		if ok && c.Inferred.Version.Less(m.v) {
			c.Inferred = VersionHint{Version: m.v, Symbol: "CONFIG_" + m.sym, Line: o.Line}
		}
	}
	c.Version = c.HeaderVersion
	if !c.HeaderVersion.IsZero() && c.HeaderVersion.Less(c.Inferred.Version) {
		c.Version = c.Inferred.Version
	}
}

// HeaderVersionTooOld reports whether the header claims an older kernel
// than the options prove.
func (c *Config) HeaderVersionTooOld() bool {
	return !c.HeaderVersion.IsZero() && c.HeaderVersion.Less(c.Inferred.Version)
}
