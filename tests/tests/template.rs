//! `hookmeter new-plugin`: the crate it writes builds with plain `cargo build --target
//! wasm32-wasip2 --release`, passes `hookmeter test`, and passes its own `cargo test` (which
//! builds the plugin again through the harness's Rust API).
//!
//! The generated crates build in this workspace's own target directory: they start from
//! hookmeter's Cargo.lock and the same dependency profile, so `cargo test` reuses nearly all
//! of what the workspace build already compiled (wasmtime above all) instead of spending half
//! an hour of CPU on its own copy. The wasm builds and test scratch space live in
//! `target/template-test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hookmeter_e2e::{Env, root};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The workspace's target directory (`cargo test` has released its lock by the time tests run).
fn shared_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root().join(d))
        .unwrap_or_else(|| root().join("target"))
}

/// Scratch space, inside the checkout, for a generated crate that must sit in one.
fn scratch() -> PathBuf {
    root().join("target/template-test")
}

/// `cargo ARGS` in `dir`, as a plugin author would run it, with the shared target directory.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", shared_target());
    // The settings of the `cargo test` running this file are not the author's.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_PROFILE_")
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let start = std::time::Instant::now();
    let out = cmd.output().unwrap();
    eprintln!(
        "cargo {} in {}: {:.1?}",
        args.join(" "),
        dir.display(),
        start.elapsed()
    );
    out
}

#[test]
fn new_plugin_outside_the_repo_builds_and_passes_its_tests() {
    let env = Env::new();
    let work = tempfile::tempdir().unwrap();
    let crate_dir = work.path().join("prompt-meter");
    let sdk = root().join("plugins/sdk");
    let out = env
        .cmd(&[
            "new-plugin",
            "prompt-meter",
            "--dir",
            crate_dir.to_str().unwrap(),
            "--sdk",
            sdk.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("cargo build --target wasm32-wasip2 --release"),
        "{}",
        text(&out)
    );
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let root = root().canonicalize().unwrap();
    assert!(
        manifest.contains(&format!(
            "hookmeter-plugin-sdk = {{ path = \"{}/plugins/sdk\" }}",
            root.display()
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "hookmeter = {{ path = \"{}/host\" }}",
            root.display()
        )),
        "{manifest}"
    );
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    assert!(
        crate_dir.join("Cargo.lock").is_file(),
        "hookmeter's lock file seeds the versions"
    );

    // Plain cargo, no flags beyond the target.
    let out = cargo(
        &crate_dir,
        &["build", "--target", "wasm32-wasip2", "--release"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let wasm = shared_target().join("wasm32-wasip2/release/prompt_meter.wasm");
    eprintln!(
        "component: {} bytes",
        std::fs::metadata(&wasm).unwrap().len()
    );

    let out = env
        .cmd(&[
            "test",
            wasm.to_str().unwrap(),
            crate_dir.join("tests/cases").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out).lines().last(),
        Some("4 passed, 0 failed"),
        "{}",
        text(&out)
    );

    // Loaded by `hookmeter run` like any plugin: its manifest name and metric prefix follow
    // the crate name.
    env.set_config(&format!(
        "[plugins.prompt-meter]\npath = {:?}\nremind_every = 1\n",
        wasm.display()
    ));
    let out = env.cmd(&["plugins"]).output().unwrap();
    assert!(text(&out).contains("prompt-meter 0.1.0"), "{}", text(&out));
    let out = env.run_hook(
        br#"{"hook_event_name":"UserPromptSubmit","session_id":"s1","cwd":"/tmp","prompt":"hi"}"#,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Prompt 1 of this session"),
        "{}",
        text(&out)
    );
    assert!(
        env.metrics()
            .keys()
            .any(|k| k.starts_with("prompt_meter_prompts_total{")),
        "{:?}",
        env.metrics()
    );

    let out = cargo(&crate_dir, &["test"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("test cases ... ok") && t.contains("test reminds_every_third_prompt ... ok"),
        "{t}"
    );
}

#[test]
fn new_plugin_inside_the_repo_uses_relative_paths() {
    std::fs::create_dir_all(scratch()).unwrap();
    let work = tempfile::tempdir_in(scratch()).unwrap();
    let crate_dir = work.path().join("inside");
    let env = Env::new();
    let out = env
        .cmd(&["new-plugin", "inside", "--dir", crate_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the checkout the new crate is in"),
        "{}",
        text(&out)
    );
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    // target/template-test/<tmp>/inside → four levels up to the checkout.
    assert!(
        manifest.contains("hookmeter-plugin-sdk = { path = \"../../../../plugins/sdk\" }"),
        "{manifest}"
    );
    assert!(
        manifest.contains("hookmeter = { path = \"../../../../host\" }"),
        "{manifest}"
    );
    // Its own workspace, although it sits inside this one.
    let out = cargo(
        &crate_dir,
        &["build", "--target", "wasm32-wasip2", "--release"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        shared_target()
            .join("wasm32-wasip2/release/inside.wasm")
            .is_file()
    );
}

#[test]
fn new_plugin_refuses_bad_names_and_busy_dirs() {
    let env = Env::new();
    let dir = env.dir.path();
    let out = env
        .cmd(&[
            "new-plugin",
            "My_Plugin",
            "--dir",
            dir.join("x").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("lowercase letters, digits and single '-'"),
        "{}",
        text(&out)
    );
    assert!(!dir.join("x").exists());

    std::fs::create_dir_all(dir.join("busy")).unwrap();
    std::fs::write(dir.join("busy/keep.txt"), "mine").unwrap();
    let out = env
        .cmd(&[
            "new-plugin",
            "busy",
            "--dir",
            dir.join("busy").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("already exists and is not empty"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_dir(dir.join("busy")).unwrap().count(), 1);

    let out = env
        .cmd(&[
            "new-plugin",
            "p",
            "--dir",
            dir.join("p").to_str().unwrap(),
            "--sdk",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("expected the plugins/sdk directory of a checkout"),
        "{}",
        text(&out)
    );
}
