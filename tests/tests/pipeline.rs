//! The hook pipeline end to end, through the real `hookmeter` binary: real Claude Code
//! payloads, malformed input, hostile plugins, concurrent writers and the compile cache.

use std::time::{Duration, Instant};

use hookmeter_e2e::{Env, event, fake_repo, plugin_wasm, root};
use serde_json::json;

const SESSIONS: &str = "claude_project_session_total";

fn series(name: &str, project: &str, branch: &str) -> String {
    format!("{name}{{branch=\"{branch}\",project=\"{project}\"}}")
}

/// Every payload the real Claude Code CLI sent in a recorded session is processed with exit 0
/// and either no output or one JSON object.
#[test]
fn recorded_claude_code_payloads_all_succeed() {
    let env = Env::new();
    let dir = root().join("tests/fixtures/claude-code");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.file_name().unwrap().to_string_lossy().starts_with(char::is_numeric))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "expected the recorded fixtures in {}", dir.display());
    let mut names = std::collections::BTreeSet::new();
    for file in &files {
        let payload = std::fs::read(file).unwrap();
        let out = env.run_hook(&payload);
        assert_eq!(out.status.code(), Some(0), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        if !stdout.trim().is_empty() {
            let answer: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON answer");
            assert!(answer.is_object(), "{stdout}");
        }
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        names.insert(v["hook_event_name"].as_str().unwrap().to_owned());
    }
    for required in ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"] {
        assert!(names.contains(required), "fixtures lack {required}");
    }
    // The recorded session: one real start, one after /compact (not a new session), 7 prompts.
    let m = env.metrics();
    let key = |name| series(name, "repo", "feature/fixtures");
    assert_eq!(m.get(&key(SESSIONS)), Some(&1.0), "{m:#?}");
    assert_eq!(m.get(&key("claude_project_prompts_total")), Some(&7.0), "{m:#?}");
    assert_eq!(m.get(&key("claude_project_active")), Some(&0.0), "{m:#?}");
    assert_eq!(
        m.get("claude_project_tool_uses_total{branch=\"feature/fixtures\",project=\"repo\",tool=\"Bash\"}"),
        Some(&1.0)
    );
    assert_eq!(m.get("hookmeter_events_total{event=\"SessionEnd\"}"), Some(&1.0));
    assert!(env.metrics().keys().all(|k| !k.starts_with("hookmeter_plugin_errors_total")), "{m:#?}");
}

/// Bad stdin: one clear line on stderr, exit 1 (never 2, never a panic), store untouched.
#[test]
fn malformed_stdin_is_refused_and_nothing_is_lost() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    assert!(env.run_hook(&event("SessionStart", "s1", &repo, json!({}))).status.success());
    let before = env.metrics();
    assert_eq!(before.get(&series(SESSIONS, "proj", "main")), Some(&1.0));

    let mut huge = b"{\"hook_event_name\":\"Stop\",\"x\":\"".to_vec();
    huge.resize(33 << 20, b'a');
    huge.extend_from_slice(b"\"}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty"),
        ("whitespace", b"  \n".to_vec(), "empty"),
        ("not json", b"hello".to_vec(), "not valid JSON"),
        ("truncated", br#"{"hook_event_name":"Sess"#.to_vec(), "not valid JSON"),
        ("array", b"[1]".to_vec(), "not an object"),
        ("string", b"\"SessionStart\"".to_vec(), "not an object"),
        ("no name", br#"{"session_id":"x"}"#.to_vec(), "hook_event_name"),
        ("name not a string", br#"{"hook_event_name":1}"#.to_vec(), "\"hook_event_name\" field is a number"),
        ("cwd wrong type", br#"{"hook_event_name":"Stop","cwd":{}}"#.to_vec(), "\"cwd\" field is an object"),
        ("session wrong type", br#"{"hook_event_name":"Stop","session_id":[1]}"#.to_vec(), "\"session_id\" field is an array"),
        ("binary", vec![0, 159, 146, 150, 255], "not valid UTF-8"),
        ("deep nesting", deep.into_bytes(), "not valid JSON"),
        ("huge", huge, "larger than 32 MiB"),
    ];
    for (what, input, expected) in cases {
        let out = env.run_hook(&input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}: stdout must stay empty");
        assert_eq!(stderr.lines().count(), 1, "{what}: one line on stderr, got {stderr:?}");
        assert!(stderr.contains(expected), "{what}: {stderr:?} should mention {expected:?}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
    assert_eq!(env.metrics(), before, "bad input must not change the store");
}

/// Hostile plugins are each contained — timeout, memory cap, trap, output flood, stack
/// overflow, invalid and too many updates — logged and counted, while the well-behaved bundled
/// plugin's update lands on every run.
#[test]
fn hostile_plugins_are_contained_and_counted() {
    let hostile = plugin_wasm("hostile").display().to_string();
    // (plugin name, mode, reason counted, text in the log)
    let modes = [
        ("looper", "loop", "timeout", "wall-clock budget exceeded"),
        ("hog", "memory", "memory", "memory cap exceeded"),
        ("trapper", "trap", "trap", "traps on purpose"),
        ("flooder", "stdout", "trap", "flood flood"),
        // Rust keeps its stack in linear memory: overflowing it is an out-of-bounds access.
        ("deep", "recurse", "trap", "wasm trap"),
        ("liar", "invalid_names", "invalid_update", "not a declared metric family"),
        ("spammer", "many_updates", "too_many_updates", "returned 100001 updates"),
        ("failer", "error", "error", "this plugin always fails"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    for (name, mode, reason, logged) in modes {
        // Only the looper needs to meet its budget; the others get room on a busy machine, so
        // that what stops them is what the test is about.
        let timeout_ms = if mode == "loop" { 250 } else { 5_000 };
        let env = Env::with_config(&format!(
            "[limits]\ntimeout_ms = {timeout_ms}\nmemory_mib = 32\n\n[plugins.{name}]\npath = {hostile:?}\nmode = {mode:?}\n"
        ));
        let runs = 2;
        for i in 0..runs {
            let started = Instant::now();
            let out = env.run_hook(&event("SessionStart", &format!("s{i}"), &repo, json!({"source": "startup"})));
            let took = started.elapsed();
            eprintln!("{mode}: run {i} took {took:?}");
            assert_eq!(out.status.code(), Some(0), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stdout.is_empty(), "{mode}: plugin output reached stdout: {:?}", String::from_utf8_lossy(&out.stdout));
            // A sanity bound only; the benchmark reports real figures.
            assert!(took < Duration::from_secs(30), "{mode}: run {i} took {took:?}");
        }
        let m = env.metrics();
        assert_eq!(m.get(&series(SESSIONS, "proj", "main")), Some(&(runs as f64)), "{mode}: {m:#?}");
        let key = format!("hookmeter_plugin_errors_total{{plugin=\"{name}\",reason=\"{reason}\"}}");
        // The liar's five invalid updates are each rejected and counted.
        let per_run = if mode == "invalid_names" { 5.0 } else { 1.0 };
        assert_eq!(m.get(&key), Some(&(runs as f64 * per_run)), "{mode}: {key} in {m:#?}");
        let log = env.log();
        assert!(log.contains(logged), "{mode}: log lacks {logged:?}:\n{log}");
        if mode == "invalid_names" {
            // Its one valid update landed; none of the invalid ones did.
            assert_eq!(m.get("hostile_calls_total{mode=\"invalid_names\"}"), Some(&(runs as f64)), "{m:#?}");
            assert!(!m.contains_key("hostile_calls_total{mode=\"x\"}"), "{m:#?}");
        }
        assert!(!m.keys().any(|k| k.starts_with("hostile_value")), "{mode}: {m:#?}");
    }
}

/// Several plugins that declare the same family: the first one owns it, the others' updates to
/// it are refused as `invalid_manifest`, and each still runs.
#[test]
fn a_family_has_one_owner() {
    let hostile = plugin_wasm("hostile").display().to_string();
    let env = Env::with_config(&format!(
        "[plugins.a]\npath = {hostile:?}\nmode = \"ok\"\n[plugins.b]\npath = {hostile:?}\nmode = \"ok\"\n"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    assert!(env.run_hook(&event("Stop", "s", &repo, json!({}))).status.success());
    let m = env.metrics();
    assert_eq!(m.get("hostile_calls_total{mode=\"ok\"}"), Some(&1.0), "{m:#?}");
    assert!(m.get("hookmeter_plugin_errors_total{plugin=\"b\",reason=\"invalid_manifest\"}").is_some_and(|v| *v >= 1.0), "{m:#?}");
    assert!(env.log().contains("already declared by plugin a"), "{}", env.log());
}

/// 8 concurrent processes × 200 SessionStart events: exactly 1600, no lost update.
#[test]
fn concurrent_runs_lose_no_update() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "busy", "main");
    // Warm the compile cache so every worker runs the hot path.
    assert!(env.run_hook(&event("Stop", "warm", &repo, json!({}))).status.success());
    let (workers, per_worker) = (8, 200);
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (env, repo) = (&env, &repo);
            scope.spawn(move || {
                for i in 0..per_worker {
                    let out = env.run_hook(&event("SessionStart", &format!("w{w}-{i}"), repo, json!({"source": "startup"})));
                    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
                }
            });
        }
    });
    assert_eq!(env.value(&series(SESSIONS, "busy", "main")), (workers * per_worker) as f64);
    assert_eq!(env.value("hookmeter_events_total{event=\"SessionStart\"}"), (workers * per_worker) as f64);
}

/// The compile cache is used, and a damaged artifact is rebuilt, never loaded.
#[test]
fn damaged_compile_cache_is_rebuilt() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let start = |s: &str| env.run_hook(&event("SessionStart", s, &repo, json!({})));
    assert!(start("a").status.success());
    let cache = env.state_dir().join("cache");
    let cwasm: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert!(!cwasm.is_empty(), "no .cwasm in {}", cache.display());
    for (i, damage) in ["truncate", "replace", "garbage"].iter().enumerate() {
        for file in &cwasm {
            match *damage {
                "truncate" => {
                    let len = std::fs::metadata(file).unwrap().len();
                    std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(len / 2).unwrap();
                }
                "replace" => {
                    let bytes = std::fs::read(file).unwrap();
                    std::fs::remove_file(file).unwrap();
                    std::fs::write(file, bytes).unwrap();
                }
                _ => std::fs::write(file, b"\x7fELF not really").unwrap(),
            }
        }
        let out = start(&format!("after-{damage}"));
        assert_eq!(out.status.code(), Some(0), "{damage}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(env.value(&series(SESSIONS, "proj", "main")), (i + 2) as f64, "{damage}");
    }
    assert!(env.value("hookmeter_plugin_errors_total{plugin=\"project-sessions\",reason=\"load\"}") == 0.0);
}
