//! The contract is language-neutral: `examples/python-plugin`, a plugin written in Python and
//! built with componentize-py from PyPI, passes the same harness as the Rust plugins and is
//! loaded by `hookmeter run` like them.
//!
//! Needs componentize-py at the version pinned in the example's requirements.txt; without it
//! this test fails and says how to install it (it is never skipped).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use hookmeter_e2e::{Env, root};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn example() -> PathBuf {
    root().join("examples/python-plugin")
}

/// The version requirements.txt pins, e.g. "0.25.1".
fn pinned_version() -> String {
    let requirements = std::fs::read_to_string(example().join("requirements.txt")).unwrap();
    requirements
        .lines()
        .find_map(|l| l.trim().strip_prefix("componentize-py=="))
        .expect("requirements.txt pins componentize-py==VERSION")
        .trim()
        .to_owned()
}

fn require_componentize_py() {
    let install = format!(
        "pip install -r {}",
        example().join("requirements.txt").display()
    );
    let out = Command::new("componentize-py")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("componentize-py is not installed ({e}); run: {install}"));
    let version = String::from_utf8_lossy(&out.stdout);
    let pinned = pinned_version();
    assert!(
        version.split_whitespace().any(|w| w == pinned),
        "componentize-py {pinned} is required, found {:?}; run: {install}",
        version.trim()
    );
}

#[test]
fn python_plugin_passes_the_harness_and_runs_under_hookmeter() {
    require_componentize_py();
    // Built into target/, not into the example's directory.
    let out_dir = root().join("target/python-plugin");
    std::fs::create_dir_all(&out_dir).unwrap();
    let wasm = out_dir.join("plugin.wasm");
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(example().join("build.sh"))
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(out.status.success(), "build.sh failed:\n{}", text(&out));
    eprintln!(
        "componentize-py build: {:.1?}, component: {} bytes",
        start.elapsed(),
        std::fs::metadata(&wasm).unwrap().len()
    );

    // A fresh state dir: the first `hookmeter test` compiles the component (and caches it).
    let env = Env::new();
    let cases = example().join("tests/cases");
    let args = ["test", wasm.to_str().unwrap(), cases.to_str().unwrap()];
    let start = Instant::now();
    let out = env.cmd(&args).output().unwrap();
    let cold = start.elapsed();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(t.lines().last(), Some("5 passed, 0 failed"), "{t}");
    let start = Instant::now();
    let out = env.cmd(&args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    eprintln!(
        "hookmeter test, 5 cases / 11 steps: {cold:.1?} with the first compile, {:.1?} from the cache",
        start.elapsed()
    );

    // The same component, loaded by path as a user would, denies a dangerous command.
    env.set_config(&format!(
        "[plugins.tool-guard]\npath = {:?}\n",
        wasm.display()
    ));
    let out = env.cmd(&["plugins"]).output().unwrap();
    assert!(text(&out).contains("tool-guard 0.1.0"), "{}", text(&out));
    let event = br#"{"hook_event_name":"PreToolUse","session_id":"s1","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"git push -f origin main"}}"#;
    let start = Instant::now();
    let out = env.run_hook(event);
    eprintln!(
        "hookmeter run with the Python plugin (cache warm): {:.1?}",
        start.elapsed()
    );
    assert!(out.status.success(), "{}", text(&out));
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(
        answer["hookSpecificOutput"]["permissionDecision"], "deny",
        "{answer}"
    );
    assert!(
        answer["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("git"),
        "{answer}"
    );
    let metrics = env.metrics();
    assert!(
        metrics
            .iter()
            .any(|(k, v)| k.starts_with("tool_guard_denied_total{") && *v == 1.0),
        "{metrics:?}"
    );
    assert!(!env.log().contains("ERROR"), "{}", env.log());
}
