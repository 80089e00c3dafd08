#!/usr/bin/env run-cargo-script
//! Crate docs mention unsafe { } which is not code.
#![forbid(unsafe_code)]

/* outer /* nested unsafe { } */ still comment */
const S: &str = "unsafe { not code }";
const R: &str = r#"raw "unsafe" { }"#;
const B: &[u8] = br##"bytes "# unsafe"##;
const C: char = '"';
const Q: char = '\'';
const U: char = '\u{1F600}';

fn longest<'a>(x: &'a str, _y: &'a str) -> &'a str {
    'outer: loop {
        break 'outer;
    }
    x
}

struct Port(u16);

impl Port {
    // SAFETY: the port is reserved for us by the platform.
    fn read(&self) -> u8 {
        // SAFETY: reading this port has no side effects.
        unsafe { inb(self.0) }
    }

    fn write(&self, v: u8) {
        unsafe { outb(self.0, v) }
    }
}

/// Reads a byte.
///
/// # Safety
///
/// The caller must own the port.
#[inline]
pub unsafe fn inb(_port: u16) -> u8 {
    0
}

unsafe fn outb(_port: u16, _v: u8) {}

unsafe impl Send for Port {}

// SAFETY: marker trait with no methods.
unsafe trait Marker {}

unsafe extern "C" {
    fn abort() -> !;
}

#[unsafe(no_mangle)]
pub extern "C" fn entry() {}

type Callback = unsafe fn(u8) -> u8;
type CCallback = unsafe extern "C" fn(u8);

fn r#unsafe() {}

fn main() {
    let x = 1.5e3 + 0x1e as f64 + 1u8 as f64;
    let t = (1, 2).0;
    let v = /* SAFETY: trivially fine */ unsafe { outb(1, 2) };
    let _ = (x, t, v, b'a', b'\n', c"cstr", cr#"raw c"#);
}
