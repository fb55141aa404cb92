//! Hostile plugins beyond the pipeline test's set (loop, memory, trap, stdout, recurse,
//! invalid names, too many updates, error): files, sockets, environment, clocks, 1 MB label
//! values, a million series, and another plugin's state. Each is denied or contained, the
//! reason is in hookmeter.log, and nothing of it lands in the store.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hookmeter_e2e::{Env, event, fake_repo, plugin_wasm};
use serde_json::json;

/// An env running the hostile plugin as `name` in `mode`, plus `extra` lines in its table.
fn hostile_env(limits: &str, name: &str, mode: &str, extra: &str) -> Env {
    let hostile = plugin_wasm("hostile").display().to_string();
    Env::with_config(&format!("[limits]\n{limits}\n\n[plugins.{name}]\npath = {hostile:?}\nmode = {mode:?}\n{extra}\n"))
}

/// One SessionStart through `hookmeter run`; it must exit 0 (fail open) with nothing on stdout.
fn run_once(env: &Env, repo: &Path, session: &str) -> Duration {
    let started = Instant::now();
    let out = env.run_hook(&event("SessionStart", session, repo, json!({"source": "startup"})));
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "{:?}", String::from_utf8_lossy(&out.stdout));
    took
}

/// `sqlite3 -readonly DB SQL`, rows as lines.
fn sql(env: &Env, query: &str) -> String {
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(env.state_dir().join("hookmeter.db"))
        .arg(query)
        .output()
        .expect("the sqlite3 CLI (Debian package sqlite3)");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const SESSIONS: &str = "claude_project_session_total{branch=\"main\",project=\"proj\"}";

/// WASI grants no preopened directory: opening /etc/passwd fails inside the plugin, which
/// logs the error and reports -1.
#[test]
fn reading_a_file_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = hostile_env("", "reader", "read_file", "");
    run_once(&env, &repo, "s");
    let log = env.log();
    let line =
        log.lines().find(|l| l.contains("read /etc/passwd")).unwrap_or_else(|| panic!("no attempt logged:\n{log}"));
    assert!(line.contains("Err("), "{line}");
    assert!(!log.contains("root:x:0:0"), "file content leaked into the log");
    let m = env.metrics();
    assert_eq!(m.get("hostile_value{key=\"file_bytes\"}"), Some(&-1.0), "{m:#?}");
    assert_eq!(m.get(SESSIONS), Some(&1.0));
}

/// No sockets: a real listener on loopback never sees the connection.
#[test]
fn opening_a_socket_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let env = hostile_env("", "dialer", "socket", &format!("port = {port}"));
    run_once(&env, &repo, "s");
    listener.set_nonblocking(true).unwrap();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection arrived from the plugin: {other:?}"),
    }
    let log = env.log();
    let line =
        log.lines().find(|l| l.contains(&format!("connect 127.0.0.1:{port}"))).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("Err("), "{line}");
    assert_eq!(env.metrics().get("hostile_value{key=\"connected\"}"), Some(&0.0));
}

/// No environment: the plugin sees no variable although hookmeter itself has a secret.
#[test]
fn environment_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = hostile_env("", "snoop", "env", "");
    let out = hookmeter_e2e::run_with_stdin(
        {
            let mut cmd = env.cmd(&["run"]);
            cmd.env("SECRET_TOKEN", "hostile-env-canary-4711");
            cmd
        },
        &event("SessionStart", "s", &repo, json!({})),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.metrics().get("hostile_value{key=\"env_vars\"}"), Some(&0.0));
    let log = env.log();
    assert!(log.contains("env vars: []"), "{log}");
    assert!(!log.contains("SECRET_TOKEN") && !log.contains("hostile-env-canary-4711"), "{log}");
}

/// Frozen clocks: the wall clock reads the event's time (taken by the host during the run),
/// and the monotonic clock does not move across a busy loop, so a plugin cannot time anything.
#[test]
fn clocks_are_frozen() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = hostile_env("", "timer", "clock", "");
    let ms = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as f64;
    let before = ms();
    run_once(&env, &repo, "s");
    let after = ms();
    let m = env.metrics();
    let wall = m["hostile_value{key=\"wall_ms\"}"];
    assert!(before <= wall && wall <= after, "wall clock {wall} outside the run [{before}, {after}]");
    assert_eq!(m.get("hostile_value{key=\"elapsed_ns\"}"), Some(&0.0), "{m:#?}");
    // A second run: the plugin's clock is the new event's time, not a running clock.
    std::thread::sleep(Duration::from_millis(20));
    let before2 = ms();
    run_once(&env, &repo, "s2");
    let wall2 = env.metrics()["hostile_value{key=\"wall_ms\"}"];
    assert!(wall2 >= before2 && wall2 > wall, "{wall2} vs {wall}");
}

/// A 1 MB label value is refused by `max_label_value_bytes` and counted; nothing stored.
#[test]
fn megabyte_label_value_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = hostile_env("memory_mib = 64\ntimeout_ms = 10000", "bloater", "big_label", "n = 1048576");
    run_once(&env, &repo, "s");
    let m = env.metrics();
    assert_eq!(
        m.get("hookmeter_plugin_errors_total{plugin=\"bloater\",reason=\"invalid_update\"}"),
        Some(&1.0),
        "{m:#?}"
    );
    assert!(!m.keys().any(|k| k.starts_with("hostile_value")), "the 1 MB series was stored");
    assert_eq!(m.get(SESSIONS), Some(&1.0));
    let log = env.log();
    assert!(log.contains("[plugin bloater] invalid_update") && log.contains("1048576 bytes, more than 1024"), "{log}");
    // The log names the problem without copying the megabyte.
    assert!(log.len() < 64 * 1024, "log is {} bytes", log.len());
    let stored: usize = sql(&env, "SELECT COALESCE(MAX(LENGTH(labels)), 0) FROM series;").trim().parse().unwrap();
    assert!(stored < 4096, "a series with {stored} bytes of labels is in the store");
}

/// A million series in one response, with max_updates raised so the count limit does not
/// catch it first: contained (memory cap or max_series), the run still exits 0, and the store
/// holds at most max_series of the plugin's series.
#[test]
fn million_series_are_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let max_series = 10_000;
    let env = hostile_env(
        &format!("max_updates = 2000000\nmax_series = {max_series}\ntimeout_ms = 60000"),
        "million",
        "many_updates",
        "n = 1000000",
    );
    let took = run_once(&env, &repo, "s");
    eprintln!("million_series: run took {took:?}");
    assert!(took < Duration::from_secs(120), "sanity bound: {took:?}");
    let stored: usize =
        sql(&env, "SELECT COUNT(*) FROM series WHERE family = 'hostile_value';").trim().parse().unwrap();
    eprintln!("million_series: {stored} hostile_value series stored");
    assert!(stored <= max_series, "{stored} series stored, limit {max_series}");
    let m = env.metrics();
    let reasons: Vec<_> =
        m.keys().filter(|k| k.starts_with("hookmeter_plugin_errors_total{plugin=\"million\"")).cloned().collect();
    eprintln!("million_series: {reasons:?}");
    assert!(!reasons.is_empty(), "containment was not counted: {m:#?}");
    assert!(
        reasons.iter().any(|r| ["memory", "cardinality", "too_many_updates"]
            .iter()
            .any(|x| r.contains(&format!("reason=\"{x}\"")))),
        "{reasons:?}"
    );
    assert_eq!(m.get(SESSIONS), Some(&1.0));
    let log = env.log();
    assert!(
        ["memory cap exceeded", "max_series", "updates (limit"].iter().any(|x| log.contains(x)),
        "no reason in the log:\n{}",
        &log[..log.len().min(4000)]
    );
}

/// A plugin cannot reach another plugin's state: its keys are stored under its own name,
/// and project-sessions' rows are byte-for-byte unchanged.
#[test]
fn state_tampering_stays_in_its_own_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = Env::new();
    run_once(&env, &repo, "s1");
    let rows = "SELECT plugin, key, value FROM plugin_state WHERE plugin = 'project-sessions' ORDER BY key;";
    let before = sql(&env, rows);
    assert!(!before.is_empty(), "project-sessions keeps state after a SessionStart");
    let hostile = plugin_wasm("hostile").display().to_string();
    env.set_config(&format!("[plugins.tamperer]\npath = {hostile:?}\nmode = \"state_tamper\"\n"));
    // A Stop does not change project-sessions' state, so any change would be the tamperer's.
    let out = env.run_hook(&event("Stop", "s1", &repo, json!({})));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sql(&env, rows), before, "project-sessions' state changed");
    let own = sql(&env, "SELECT plugin, key, value FROM plugin_state WHERE value = 'tampered' ORDER BY key;");
    assert_eq!(own, "tamperer|../project-sessions/active|tampered\ntamperer|project-sessions|tampered\n");
    assert_eq!(env.metrics().get("hostile_calls_total{mode=\"state_tamper\"}"), Some(&1.0));
}

/// More than 1024 state keys: the call fails with `state_limit`, and none of its writes land.
#[test]
fn state_flood_is_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = hostile_env("timeout_ms = 10000", "flooder", "state_flood", "n = 1100");
    run_once(&env, &repo, "s");
    let m = env.metrics();
    assert_eq!(m.get("hookmeter_plugin_errors_total{plugin=\"flooder\",reason=\"state_limit\"}"), Some(&1.0), "{m:#?}");
    assert_eq!(sql(&env, "SELECT COUNT(*) FROM plugin_state WHERE plugin = 'flooder';").trim(), "0");
    assert!(!m.contains_key("hostile_calls_total{mode=\"state_flood\"}"), "its update landed: {m:#?}");
    assert_eq!(m.get(SESSIONS), Some(&1.0));
    let log = env.log();
    assert!(log.contains("state_limit") || log.contains("1024"), "{log}");
}

/// A `.cwasm` compiled by another engine (fuel metering on, optimisation off: another
/// compatibility hash) put in place of a cached artifact, with its index entry forged to match
/// the new file's size, inode and mtime — the strongest tampering short of hookmeter's own
/// engine. wasmtime's header check refuses it, the plugin is rebuilt, and counts stay exact.
/// (pipeline.rs covers truncated, replaced and garbage files with an honest index.)
#[test]
fn cwasm_from_another_engine_is_rebuilt_not_loaded() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "proj", "main");
    let env = Env::new();
    run_once(&env, &repo, "a");
    let wasm = plugin_wasm("project_sessions");
    let sha = Command::new("sha256sum").arg(&wasm).output().unwrap();
    let sha = String::from_utf8(sha.stdout).unwrap().split_whitespace().next().unwrap().to_owned();
    let cache = env.state_dir().join("cache");
    let cwasm = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "cwasm") && p.file_name().unwrap().to_string_lossy().starts_with(&sha)
        })
        .unwrap_or_else(|| panic!("no cached artifact for {sha} in {}", cache.display()));
    let index = cwasm.with_extension("json");

    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true).consume_fuel(true).cranelift_opt_level(wasmtime::OptLevel::None);
    let other = wasmtime::Engine::new(&config).unwrap();
    let started = Instant::now();
    let foreign = wasmtime::component::Component::from_file(&other, &wasm).unwrap().serialize().unwrap();
    eprintln!("foreign engine compiled project_sessions in {:?} ({} bytes)", started.elapsed(), foreign.len());
    let replacement = cache.join("foreign.tmp");
    std::fs::write(&replacement, &foreign).unwrap();
    std::fs::rename(&replacement, &cwasm).unwrap();
    // Forge the index so that the size/inode/mtime check passes: only wasmtime's own check is left.
    let meta = std::fs::metadata(&cwasm).unwrap();
    let mut entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    entry["fingerprint"] =
        json!({"len": meta.len(), "ino": meta.ino(), "mtime_ns": meta.mtime() * 1_000_000_000 + meta.mtime_nsec()});
    std::fs::write(&index, serde_json::to_vec(&entry).unwrap()).unwrap();

    let took = run_once(&env, &repo, "b");
    eprintln!("run with the foreign artifact (rebuild included) took {took:?}");
    let m = env.metrics();
    assert_eq!(m.get(SESSIONS), Some(&2.0), "{m:#?}");
    assert!(!m.keys().any(|k| k.starts_with("hookmeter_plugin_errors_total")), "{m:#?}");
    assert_ne!(std::fs::read(&cwasm).unwrap(), foreign, "the foreign artifact is still in the cache: not rebuilt");
    // The rebuilt artifact is used from then on.
    run_once(&env, &repo, "c");
    assert_eq!(env.value(SESSIONS), 3.0);
}
