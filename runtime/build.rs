//! Hands the linker scripts/build-release.sh's function order (TRUMAN_LINK_ORDER, a
//! file): through the build script, so that cargo links again whenever the file
//! changes, which it would not for a flag that names the same path as before.

fn main() {
    println!("cargo:rerun-if-env-changed=TRUMAN_LINK_ORDER");
    if let Some(order) = std::env::var_os("TRUMAN_LINK_ORDER") {
        let order = order.to_string_lossy();
        println!("cargo:rerun-if-changed={order}");
        println!("cargo:rustc-link-arg-bin=truman=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-link-arg-bin=truman=-Wl,--no-warn-symbol-ordering");
    }
}
