package rustlex

import (
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// NetUse is one use of networking beyond Unix domain sockets in Rust
// source: a std/core::net socket, an async runtime's or mio's network
// types, a networking crate, or a socket address family other than
// AF_UNIX (libc, nix).
type NetUse struct {
	Line, Col int
	// API is the path as written, fully expanded for `use` trees
	// ("std::net::TcpStream", "libc::AF_INET", "AF_INET6").
	API string
	// What says what it is, for a report.
	What string
}

// Address types of std::net make no system call: they are data, not
// networking.
var netDataTypes = []string{"Ipv4Addr", "Ipv6Addr", "IpAddr", "SocketAddr", "SocketAddrV4", "SocketAddrV6",
	"AddrParseError", "Shutdown", "Ipv6MulticastScope"}

// Unix domain socket types of the async runtimes.
var unixTypes = []string{"UnixStream", "UnixListener", "UnixDatagram", "UnixSocket", "unix", "SocketAddr"}

// netCrates are crates whose purpose is networking: any use of them is.
var netCrates = map[string]string{
	"socket2": "the socket2 crate (raw sockets of any family)", "hyper": "the hyper HTTP crate", "reqwest": "the reqwest HTTP client",
	"ureq": "the ureq HTTP client", "curl": "the curl crate", "isahc": "the isahc HTTP client", "surf": "the surf HTTP client",
	"tungstenite": "the tungstenite WebSocket crate", "quinn": "the quinn QUIC crate", "async_net": "the async-net crate",
	"hickory_resolver": "the hickory DNS resolver", "trust_dns_resolver": "the trust-dns resolver",
}

// runtimeNet are the network modules of async runtimes and event loops.
var runtimeNet = [][]string{{"tokio", "net"}, {"async_std", "net"}, {"mio", "net"}, {"smol", "net"}, {"tokio_uring", "net"}, {"compio", "net"}}

var familyRE = lazyre.New(`^(AF|PF)_[A-Z0-9_]+$`)

// unixFamilies are the families of local sockets.
var unixFamilies = []string{"AF_UNIX", "AF_LOCAL", "PF_UNIX", "PF_LOCAL"}

// inetSockaddrs are libc's address structures of network families.
var inetSockaddrs = []string{"sockaddr_in", "sockaddr_in6", "sockaddr_ll", "sockaddr_nl", "sockaddr_vm", "SockaddrIn", "SockaddrIn6", "LinkAddr", "NetlinkAddr", "VsockAddr"}

// Network finds the uses of networking beyond AF_UNIX in the tokens of a
// file. Test code (#[cfg(test)] modules and #[test] functions) is left out:
// it is not part of the program.
func Network(toks []Token) []NetUse {
	code := make([]*Token, 0, len(toks))
	for i := range toks {
		if toks[i].Kind != Comment && toks[i].Kind != Shebang {
			code = append(code, &toks[i])
		}
	}
	code = dropTestCode(code)
	var out []NetUse
	report := func(t *Token, api, what string) {
		out = append(out, NetUse{Line: int(t.Line), Col: int(t.Col), API: api, What: what})
	}
	isPunct := func(i int, s string) bool { return i < len(code) && code[i].Kind == Punct && code[i].Text == s }
	isIdent := func(i int) bool { return i < len(code) && code[i].Kind == Ident }
	pathSep := func(i int) bool { return isPunct(i, ":") && isPunct(i+1, ":") }
	for i := 0; i < len(code); i++ {
		t := code[i]
		if t.Kind != Ident {
			continue
		}
		if t.Text == "use" && !t.Raw {
			paths, end := useTree(code, i+1)
			for _, p := range paths {
				if api, what, ok := judgePath(p.segs, true); ok {
					report(p.at, api, what)
				}
			}
			i = end
			continue
		}
		// A path: ident (:: ident)*, not preceded by :: (its start was seen).
		if i >= 2 && pathSep(i-2) {
			continue
		}
		segs := []string{t.Text}
		j := i
		for pathSep(j+1) && isIdent(j+3) {
			segs = append(segs, code[j+3].Text)
			j += 3
		}
		// extern crate NAME; names a crate as use does.
		ext := i >= 2 && code[i-1].Text == "crate" && code[i-2].Text == "extern"
		if api, what, ok := judgePath(segs, ext); ok {
			report(t, api, what)
		}
		i = j
	}
	return out
}

type usePath struct {
	segs []string
	at   *Token
}

// useTree expands the use declaration starting at code[i] (after `use`)
// into full paths, and returns the index of its final `;`.
func useTree(code []*Token, i int) ([]usePath, int) {
	var out []usePath
	var walk func(prefix []string, i, depth int) int
	walk = func(prefix []string, i, depth int) int {
		if depth > maxUseDepth {
			return i
		}
		segs := slices.Clone(prefix)
		var at *Token
		for i < len(code) {
			t := code[i]
			switch {
			case t.Kind == Ident && t.Text == "as":
				i += 2 // the alias
				continue
			case t.Kind == Ident || (t.Kind == Punct && t.Text == "*"):
				if t.Text != "self" {
					segs = append(segs, t.Text)
				}
				if at == nil {
					at = t
				}
			case t.Kind == Punct && t.Text == ":":
			case t.Kind == Punct && t.Text == "{":
				i++
				for i < len(code) && !(code[i].Kind == Punct && code[i].Text == "}") {
					next := walk(segs, i, depth+1)
					if next == i {
						next++ // a token a use tree cannot hold
					}
					i = next
					if i < len(code) && code[i].Kind == Punct && code[i].Text == "," {
						i++
					}
				}
				return i + 1
			case t.Kind == Punct && (t.Text == "," || t.Text == "}" || t.Text == ";"):
				if at != nil && len(segs) > 0 {
					out = append(out, usePath{segs: segs, at: at})
				}
				return i
			default:
				return i
			}
			i++
		}
		if at != nil {
			out = append(out, usePath{segs: segs, at: at})
		}
		return i
	}
	i = walk(nil, i, 0)
	for i < len(code) && !(code[i].Kind == Punct && code[i].Text == ";") {
		i++
	}
	return out, i
}

// judgePath says whether a path is networking beyond AF_UNIX. A crate's
// bare name counts only where it names the crate (use, extern crate): as
// an expression it may be a variable.
func judgePath(segs []string, names bool) (api, what string, ok bool) {
	if len(segs) == 0 {
		return "", "", false
	}
	api = strings.Join(segs, "::")
	last := segs[len(segs)-1]
	s := segs
	if s[0] == "crate" || s[0] == "self" || s[0] == "super" {
		return "", "", false
	}
	// std::net and core::net: sockets and name resolution, not the
	// address types.
	if len(s) >= 2 && (s[0] == "std" || s[0] == "core") && s[1] == "net" {
		if len(s) >= 3 && slices.Contains(netDataTypes, s[2]) {
			return "", "", false
		}
		return api, "std::net (TCP/UDP sockets and name resolution)", true
	}
	for _, rt := range runtimeNet {
		if len(s) >= 2 && s[0] == rt[0] && s[1] == rt[1] {
			if len(s) >= 3 && slices.Contains(unixTypes, s[2]) {
				return "", "", false
			}
			return api, rt[0] + "::net (network sockets of an async runtime or event loop)", true
		}
	}
	if w, found := netCrates[s[0]]; found && (len(s) >= 2 || names) {
		return api, w, true
	}
	// nix's AddressFamily::Inet and the like.
	for k := 0; k+1 < len(s); k++ {
		if s[k] == "AddressFamily" && s[k+1] != "Unix" && s[k+1] != "Local" {
			return api, "socket address family " + s[k+1] + " (nix)", true
		}
	}
	if familyRE().MatchString(last) && !slices.Contains(unixFamilies, last) {
		return api, "socket address family " + last, true
	}
	if slices.Contains(inetSockaddrs, last) && (len(s) == 1 || s[0] == "libc" || s[0] == "nix") {
		return api, "a network socket address (" + last + ")", true
	}
	return "", "", false
}

// Bounds that keep hostile input linear: use trees nest a few levels, and
// a test attribute is a handful of tokens.
const (
	maxUseDepth   = 16
	maxAttrTokens = 32
)

// dropTestCode removes #[cfg(test)] items and #[test] functions.
func dropTestCode(code []*Token) []*Token {
	attr := func(i int) (name string, end int, ok bool) {
		// # [ cfg ( test ) ]  or  # [ test ]
		if i+2 >= len(code) || code[i].Text != "#" || code[i+1].Text != "[" {
			return "", 0, false
		}
		j, depth := i+1, 0
		var words []string
		for ; j < len(code) && j < i+maxAttrTokens; j++ {
			switch code[j].Text {
			case "[":
				depth++
			case "]":
				depth--
			}
			if code[j].Kind == Ident {
				words = append(words, code[j].Text)
			}
			if depth == 0 {
				break
			}
		}
		return strings.Join(words, " "), j, true
	}
	var out []*Token
	for i := 0; i < len(code); i++ {
		name, end, ok := attr(i)
		if ok && (name == "cfg test" || name == "test" || strings.HasSuffix(name, " test") && strings.HasPrefix(name, "tokio")) {
			// Skip the item: up to its body's closing brace, or a `;`.
			j, depth := end+1, 0
			for ; j < len(code); j++ {
				if code[j].Kind != Punct {
					continue
				}
				if code[j].Text == "{" {
					depth++
				} else if code[j].Text == "}" {
					depth--
					if depth == 0 {
						break
					}
				} else if code[j].Text == ";" && depth == 0 {
					break
				}
			}
			i = j
			continue
		}
		out = append(out, code[i])
	}
	return out
}

// NetCrate is a crate whose purpose is networking.
type NetCrate struct{ Name, What string }

// NetCrates lists the networking crates Network knows, by crate name (with
// underscores), sorted.
func NetCrates() []NetCrate {
	var out []NetCrate
	for n, w := range netCrates {
		out = append(out, NetCrate{n, w})
	}
	slices.SortFunc(out, func(a, b NetCrate) int { return strings.Compare(a.Name, b.Name) })
	return out
}
