//! The serial console: init writes its messages straight to COM1, before
//! any driver is up.

use core::arch::asm;

/// The data register of the first serial port.
const COM1: u16 = 0x3f8;

/// Writes one byte to the console.
pub fn put(byte: u8) {
    // SAFETY: init owns COM1 from its first instruction on, and writing the
    // data register touches no memory.
    unsafe { outb(COM1, byte) }
}

/// Writes a message to the console.
pub fn write(msg: &str) {
    for byte in msg.bytes() {
        unsafe { outb(COM1, byte) }
    }
    put(b'\n');
}

/// Writes a byte to an I/O port.
///
/// # Safety
///
/// The caller must own `port`; writing to a port it does not own can
/// reconfigure hardware under another driver.
unsafe fn outb(port: u16, value: u8) {
    asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags));
}
