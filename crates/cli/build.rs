//! Release builds link the functions of `hot-functions.txt` first, in its order: those a server and
//! an agent run as they start, serve and idle. Packed together they fill a few MiB of the binary's
//! code, and an idle process maps little more (the kernel maps code 64 KB around each page
//! touched; spread over all 34 MB, the same functions kept most of it resident).
//! `scripts/order-functions.sh` writes the file. Only where rustc links with its own LLD, which
//! reads the ordering (x86_64 Linux); names the binary no longer has are skipped.

fn main() {
    println!("cargo:rerun-if-changed=hot-functions.txt");
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let lld = std::env::var("TARGET").is_ok_and(|target| target == "x86_64-unknown-linux-gnu");
    if release && lld {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/hot-functions.txt");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
