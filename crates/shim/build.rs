//! Link the shim as a non-PIE executable: a PIE's `.data.rel.ro` is written by the dynamic
//! loader at start, which makes ~450 KiB private dirty memory in every shim process; without
//! PIE those pages stay clean file pages that need not be resident.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
