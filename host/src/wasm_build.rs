//! Running cargo for `wasm32-wasip2` from inside another cargo invocation (the build scripts
//! that build the bundled and test plugins, and the harness that builds a plugin author's
//! crate). Shared by the build scripts through `#[path]`, so it depends on std only.

use std::process::Command;

/// Remove the settings the outer cargo passes down for the host build: its flags, target
/// dir, profile overrides and wrappers are not for a wasm build.
pub fn without_host_build_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key.starts_with("CARGO_BUILD_")
            || key == "CARGO_TARGET_DIR"
            || key.starts_with("CARGO_PROFILE_")
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}
