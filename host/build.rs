//! Builds the bundled plugins (`plugins/*`) for `wasm32-wasip2` and embeds them in the binary.
//!
//! The plugins are compiled by a nested `cargo build` into `<target>/plugins`, a target
//! directory of their own: the outer build holds the lock on its own directory, and sharing one
//! directory between the host's profiles means the plugins are built once, whatever profile
//! the host is built with.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[path = "src/wasm_build.rs"]
mod wasm_build;

/// (crate name, artifact stem) of every bundled plugin, in the order they run.
const BUNDLED: &[&str] = &["project-sessions", "exercise"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for watched in ["wit", "plugins", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");
    build_plugins(&root, &target_dir, BUNDLED);

    // `hookmeter run` is a process per hook event, so start-up is most of its cost. As a
    // position-independent executable it spent ~13 % of a run's instructions, and a third of
    // its page faults, in the dynamic loader applying 33,000 relocations to wasmtime's and
    // cranelift's tables. Linked at a fixed address, the linker applies them once. Shared
    // libraries, heap, stacks and plugin memory keep their randomised addresses.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let mut code = String::from("/// Plugins built from `plugins/` and embedded at build time.\n");
    code.push_str("pub static BUNDLED: &[BundledPlugin] = &[\n");
    for name in BUNDLED {
        let artifact = artifact_path(&target_dir, name);
        let bytes = std::fs::read(&artifact)
            .unwrap_or_else(|e| panic!("reading {}: {e}", artifact.display()));
        let embedded = out_dir.join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::write(&embedded, &bytes).unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        writeln!(
            code,
            "    BundledPlugin {{ name: {name:?}, sha256: {sha:?}, wasm: include_bytes!({:?}) }},",
            embedded.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), code).unwrap();
}

fn artifact_path(target_dir: &Path, crate_name: &str) -> PathBuf {
    target_dir
        .join("wasm32-wasip2/plugin")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

fn build_plugins(root: &Path, target_dir: &Path, crates: &[&str]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(target_dir);
    for name in crates {
        cmd.args(["-p", name]);
    }
    wasm_build::without_host_build_env(&mut cmd);
    let status = cmd.status().expect("running cargo to build the bundled plugins");
    if !status.success() {
        panic!(
            "building the bundled plugins for wasm32-wasip2 failed (see above). \
             If the target is missing, run: rustup target add wasm32-wasip2"
        );
    }
}
