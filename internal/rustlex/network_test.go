package rustlex

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestNetwork(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // "LINE:COL API"
	}{
		{"std net items", "use std::net::{TcpStream, Ipv4Addr};\nuse std::{io, net::UdpSocket as U};", []string{"1:16 std::net::TcpStream", "2:15 std::net::UdpSocket"}},
		{"module import", "use std::net;\nuse core::net::SocketAddr;", []string{"1:5 std::net"}},
		{"unix sockets", "use std::os::unix::net::UnixStream;\nuse tokio::net::{UnixListener, unix::OwnedReadHalf};\nuse mio::net::UnixDatagram;", nil},
		{"runtime sockets", "use tokio::net::TcpListener;\nuse async_std::net::UdpSocket;\nfn f() { mio::net::TcpStream::connect(a); }", []string{"1:5 tokio::net::TcpListener", "2:5 async_std::net::UdpSocket", "3:10 mio::net::TcpStream::connect"}},
		{"expression paths", "fn f() { let s = std::net::TcpStream::connect(\"x\"); let l = ::std::net::Ipv6Addr::LOCALHOST; }", []string{"1:18 std::net::TcpStream::connect"}},
		{"families", "fn f() { socket(libc::AF_INET, 0, 0); socket(libc::AF_UNIX, 0, 0); socket(AF_PACKET, 0, 0); socket(libc::PF_LOCAL, 0, 0); }", []string{"1:17 libc::AF_INET", "1:75 AF_PACKET"}},
		{"nix", "use nix::sys::socket::{AddressFamily, SockaddrIn};\nfn f() { AddressFamily::Unix; AddressFamily::Inet; }", []string{"1:39 nix::sys::socket::SockaddrIn", "2:31 AddressFamily::Inet"}},
		{"crates", "extern crate hyper;\nuse reqwest::Client;\nfn f(curl: u8) { let surf = curl; ureq::get(\"x\"); }", []string{"1:14 hyper", "2:5 reqwest::Client", "3:35 ureq::get"}},
		{"comments and strings", "// std::net::TcpStream\nfn f() { let s = \"libc::AF_INET\"; /* AF_INET6 */ }", nil},
		{"test code", "#[cfg(test)]\nmod tests { use std::net::TcpListener; }\n#[test]\nfn t() { std::net::TcpStream::connect(x); }\n#[tokio::test]\nasync fn u() { tokio::net::TcpStream::connect(x).await; }\nfn main() { std::net::UdpSocket::bind(y); }", []string{"7:13 std::net::UdpSocket::bind"}},
		{"own modules", "use crate::net::Tcp;\nuse self::net::Tcp;\nuse super::net;", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := Lex([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range Network(toks) {
				got = append(got, strings.Join([]string{itoa(u.Line) + ":" + itoa(u.Col), u.API}, " "))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// TestNetworkLinear: hostile shapes (unclosed attributes, use trees that
// never close, deep nesting) stay fast.
func TestNetworkLinear(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("#[", 50000),
		"use " + strings.Repeat("a::{", 50000),
		strings.Repeat("use a::{(};", 20000),
		strings.Repeat("#[test] fn f() {", 20000),
		strings.Repeat("std::net::", 50000),
	} {
		toks, _ := Lex([]byte(src))
		start := time.Now()
		Network(toks)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q…: %s", src[:12], d)
		}
	}
}

func FuzzNetwork(f *testing.F) {
	for _, s := range []string{"use std::net::{TcpStream, Ipv4Addr};", "use a::{(};", "#[cfg(test)] mod t { }", "libc::AF_INET", "extern crate hyper;", "use tokio::net::{unix::X, TcpStream as T};"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := Lex([]byte(src))
		if err != nil {
			return
		}
		fuzzlimit.Default(t, func() {
			for _, u := range Network(toks) {
				if u.Line < 1 || u.API == "" || u.What == "" {
					t.Fatalf("bad use %+v", u)
				}
			}
		})
	})
}
