//! Builds the test plugins (`plugins/testing/*`) for wasm32-wasip2, beside the bundled ones,
//! and tells the tests where they are (`HOOKMETER_TEST_PLUGIN_DIR`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

#[path = "../host/src/wasm_build.rs"]
mod wasm_build;

/// Plugins the tests load by path: the bundled ones plus hostile and special-purpose ones.
const PLUGINS: &[&str] = &["project-sessions", "exercise", "hostile"];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).parent().unwrap().to_path_buf();
    for watched in ["wit", "plugins", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir);
    for p in PLUGINS {
        cmd.args(["-p", p]);
    }
    wasm_build::without_host_build_env(&mut cmd);
    let status = cmd.status().expect("running cargo for the test plugins");
    assert!(status.success(), "building the test plugins failed (rustup target add wasm32-wasip2?)");
    println!(
        "cargo:rustc-env=HOOKMETER_TEST_PLUGIN_DIR={}",
        target_dir.join("wasm32-wasip2/plugin").display()
    );
}
