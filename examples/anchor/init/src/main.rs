//! anchor-init: the first process of the anchor image.
#![forbid(unsafe_code)]

fn main() {
    println!("anchor-init: starting");
}
