//! anchor-init: the first process of the anchor image.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod console;

fn main() {
    console::write("anchor-init: starting");
}
