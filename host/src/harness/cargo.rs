//! Building a plugin crate for the Rust API (`Harness::build`): `cargo build --release
//! --target wasm32-wasip2` in a target directory of its own, so the nested build never waits
//! on the lock of the `cargo test` that runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory the harness builds into and keeps its compile cache in: `hookmeter-harness`
/// inside the target directory of the running test (found by its `CACHEDIR.TAG`, which cargo
/// writes at the top of every target directory), else `<crate>/target/hookmeter-harness`.
pub fn harness_dir(crate_dir: &Path) -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    from_exe
        .unwrap_or_else(|| crate_dir.join("target"))
        .join("hookmeter-harness")
}

/// Build the crate at `crate_dir` and return the path of its component.
pub fn build(crate_dir: &Path) -> Result<PathBuf, String> {
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "{} is not a crate: there is no {}",
            crate_dir.display(),
            manifest.display()
        ));
    }
    let target_dir = harness_dir(crate_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    crate::wasm_build::without_host_build_env(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                "\nhint: run `rustup target add wasm32-wasip2`"
            } else {
                ""
            };
        return Err(format!(
            "`cargo build --release --target wasm32-wasip2` failed in {}:\n{}{hint}",
            crate_dir.display(),
            stderr.trim_end()
        ));
    }
    let wanted = manifest.canonicalize().unwrap_or(manifest.clone());
    let stdout = String::from_utf8_lossy(&out.stdout);
    artifact(&stdout, &wanted).ok_or_else(|| {
        format!(
            "`cargo build` in {} produced no .wasm for this crate; is it a library with crate-type = [\"cdylib\"]?",
            crate_dir.display()
        )
    })
}

/// The `.wasm` cargo reported for the crate whose manifest is `manifest`.
fn artifact(messages: &str, manifest: &Path) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["manifest_path"]
                .as_str()
                .is_some_and(|p| Path::new(p) == manifest)
        })
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_crate_artifact() {
        let messages = r#"{"reason":"compiler-artifact","manifest_path":"/dep/Cargo.toml","filenames":["/t/libdep.rlib"]}
{"reason":"compiler-artifact","manifest_path":"/p/Cargo.toml","filenames":["/t/wasm32-wasip2/release/p.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            artifact(messages, Path::new("/p/Cargo.toml")),
            Some(PathBuf::from("/t/wasm32-wasip2/release/p.wasm"))
        );
        assert_eq!(artifact(messages, Path::new("/q/Cargo.toml")), None);
    }
}
