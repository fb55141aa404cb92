//! Reliability of the real `hookmeter` binary: concurrent load, SIGKILL at random points,
//! state-directory failures and hand-made bad input. Figures are printed (run with
//! `--nocapture`) and recorded in docs/reliability.md; nothing here asserts on time.
//!
//! Sizes: the defaults keep the suite to about a minute on 2 cores; `HOOKMETER_FULL_LOAD=1`
//! runs the issue's full sizes (16 × 1,000 events under load, 1,000 kill rounds).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hookmeter_e2e::{Env, event, fake_repo, run_with_stdin};
use serde_json::json;

fn full() -> bool {
    std::env::var_os("HOOKMETER_FULL_LOAD").is_some_and(|v| v == "1")
}

/// A small deterministic PRNG (xorshift64*): no extra dependency, and a failing seed is printed
/// so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn from_time() -> Rng {
        let seed = std::env::var("HOOKMETER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        println!("seed {seed} (HOOKMETER_SEED={seed} repeats this run)");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Sum of every series of `family` in a parsed exposition.
fn family_sum(metrics: &BTreeMap<String, f64>, family: &str) -> f64 {
    metrics
        .iter()
        .filter(|(series, _)| series.as_str() == family || series.starts_with(&format!("{family}{{")))
        .map(|(_, v)| v)
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What the load test expects the counters to read afterwards.
#[derive(Default)]
struct Expected {
    events: BTreeMap<&'static str, u64>,
    sessions: u64,
    prompts: u64,
    tools: BTreeMap<&'static str, u64>,
    reps: BTreeMap<&'static str, u64>,
}

const TOOLS: [&str; 3] = ["Bash", "Edit", "Read"];

/// Event `i` of writer `w`: a fixed rotation over every event type the bundled plugins
/// handle, so the expected totals follow from the counts alone.
fn load_event(w: usize, i: usize, repo: &Path, expected: &mut Expected) -> Vec<u8> {
    let session = format!("w{w}-s{}", i / 7);
    let (name, extra) = match i % 7 {
        0 => {
            expected.sessions += 1;
            ("SessionStart", json!({"source": "startup"}))
        }
        1 => {
            expected.prompts += 1;
            ("UserPromptSubmit", json!({"prompt": format!("refactor module {i}")}))
        }
        2 => {
            expected.prompts += 1;
            let n = (i % 9 + 1) as u64;
            *expected.reps.entry("squats").or_default() += n;
            ("UserPromptSubmit", json!({"prompt": format!("+{n} squats")}))
        }
        3 => {
            let tool = TOOLS[i % TOOLS.len()];
            *expected.tools.entry(tool).or_default() += 1;
            ("PostToolUse", json!({"tool_name": tool, "tool_input": {}, "tool_response": {}}))
        }
        4 => ("Stop", json!({"stop_hook_active": false})),
        5 => {
            let n = (i % 7 + 1) as u64;
            *expected.reps.entry("pushups").or_default() += n;
            ("ExerciseCompleted", json!({"exercise": "pushups", "reps": n, "duration_seconds": 30}))
        }
        _ => ("SessionEnd", json!({"reason": "exit"})),
    };
    *expected.events.entry(name).or_default() += 1;
    event(name, &session, repo, extra)
}

/// 16 concurrent writers, each running `hookmeter run` once per event: every deterministic
/// counter is exact afterwards. Prints the p50/p99 run latency and SQLite's busy retries.
#[test]
fn concurrent_writers_lose_nothing() {
    let writers = 16;
    let per_writer = if full() { 1_000 } else { 150 };
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "loadproj", "main");

    let started = Instant::now();
    let results: Vec<(Expected, Vec<Duration>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (env, repo) = (&env, &repo);
                s.spawn(move || {
                    let mut expected = Expected::default();
                    let mut latencies = Vec::with_capacity(per_writer);
                    for i in 0..per_writer {
                        let payload = load_event(w, i, repo, &mut expected);
                        let t = Instant::now();
                        let out = env.run_hook(&payload);
                        latencies.push(t.elapsed());
                        assert_eq!(
                            out.status.code(),
                            Some(0),
                            "writer {w} event {i}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                    (expected, latencies)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();

    let mut expected = Expected::default();
    let mut latencies = Vec::new();
    for (e, l) in results {
        for (k, v) in e.events {
            *expected.events.entry(k).or_default() += v;
        }
        for (k, v) in e.tools {
            *expected.tools.entry(k).or_default() += v;
        }
        for (k, v) in e.reps {
            *expected.reps.entry(k).or_default() += v;
        }
        expected.sessions += e.sessions;
        expected.prompts += e.prompts;
        latencies.extend(l);
    }

    let m = env.metrics();
    let pb = "branch=\"main\",project=\"loadproj\"";
    assert_eq!(m.get(&format!("claude_project_session_total{{{pb}}}")).copied(), Some(expected.sessions as f64));
    assert_eq!(m.get(&format!("claude_project_prompts_total{{{pb}}}")).copied(), Some(expected.prompts as f64));
    for (tool, n) in &expected.tools {
        let series = format!("claude_project_tool_uses_total{{{pb},tool=\"{tool}\"}}");
        assert_eq!(m.get(&series).copied(), Some(*n as f64), "{series}");
    }
    for (name, n) in &expected.events {
        let series = format!("hookmeter_events_total{{event=\"{name}\"}}");
        assert_eq!(m.get(&series).copied(), Some(*n as f64), "{series}");
    }
    assert_eq!(family_sum(&m, "hookmeter_events_total"), (writers * per_writer) as f64);
    for (exercise, n) in &expected.reps {
        let got: f64 = m
            .iter()
            .filter(|(s, _)| s.starts_with("exercise_reps_total{") && s.contains(&format!("exercise=\"{exercise}\"")))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(got, *n as f64, "exercise_reps_total for {exercise}");
    }
    assert_eq!(family_sum(&m, "hookmeter_plugin_errors_total"), 0.0, "no plugin errors under load: {}", env.log());

    latencies.sort();
    let busy = family_sum(&m, "hookmeter_sqlite_busy_retries_total");
    println!(
        "load: {writers} writers x {per_writer} events = {} runs in {:.1} s ({:.0} runs/s); latency p50 {} ms, p99 {} ms, max {} ms; \
         SQLite busy retries {busy}",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_millis(),
        percentile(&latencies, 0.99).as_millis(),
        latencies.last().unwrap().as_millis(),
    );
}

fn integrity_check(state_dir: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(state_dir.join("hookmeter.db"))
        .arg("PRAGMA integrity_check;")
        .output()
        .expect("the sqlite3 CLI (Debian package sqlite3) runs the integrity check");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `hookmeter run` killed with SIGKILL at a random point of its run, round after round: the store
/// always opens and passes `PRAGMA integrity_check`, every completed run is counted, no
/// killed run is counted twice, and each run's updates are all-or-nothing.
#[test]
fn sigkill_during_runs_leaves_a_consistent_store() {
    let rounds = if full() { 1_000 } else { 300 };
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "crashproj", "main");
    let mut rng = Rng::from_time();
    // Kill points spread over the whole run: calibrate on a few runs (the first also creates
    // the store and the compile cache), then pick delays from 0 to 1.5 × a typical run's time.
    let mut times = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        assert!(env.run_hook(&event("SessionStart", &format!("cal{i}"), &repo, json!({}))).status.success());
        times.push(t.elapsed());
    }
    // The first run compiles the plugins into the cache; the rest are the steady state.
    times[1..].sort();
    let window_us = (times[3].as_micros() as u64 * 3 / 2).max(30_000);
    println!("crash: kill window 0–{} ms after spawn", window_us / 1000);
    let (mut completed, mut killed) = (5u64, 0u64);
    for round in 0..rounds {
        let payload = event("SessionStart", &format!("k{round}"), &repo, json!({"source": "startup"}));
        let mut child = env
            .cmd(&["run"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The event is a few hundred bytes: it fits the pipe buffer, so this never blocks.
        let _ = child.stdin.take().unwrap().write_all(&payload);
        std::thread::sleep(Duration::from_micros(rng.below(window_us)));
        let status = match child.try_wait().unwrap() {
            Some(status) => status,
            None => {
                let _ = child.kill();
                child.wait().unwrap()
            }
        };
        if status.success() {
            completed += 1;
        } else {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(libc::SIGKILL), "round {round}: run failed without being killed: {status}");
            killed += 1;
        }
    }
    assert_eq!(integrity_check(&env.state_dir()), "ok");
    let m = env.metrics();
    let sessions = m.get("claude_project_session_total{branch=\"main\",project=\"crashproj\"}").copied().unwrap_or(0.0);
    let events = m.get("hookmeter_events_total{event=\"SessionStart\"}").copied().unwrap_or(0.0);
    println!(
        "crash: {rounds} rounds, {completed} completed, {killed} killed; counted {sessions} sessions \
         ({} killed runs had committed)",
        sessions - completed as f64
    );
    assert!(completed > 0 && killed > 0, "the delays should both kill some runs and let some finish");
    assert!(
        completed as f64 <= sessions && sessions <= (completed + killed) as f64,
        "{completed} completed ≤ {sessions} counted ≤ {completed} + {killed} killed"
    );
    assert_eq!(events, sessions, "the event counter and the plugin's counter are written in one transaction");
    // The store is still writable after all that.
    assert!(env.run_hook(&event("SessionStart", "after", &repo, json!({}))).status.success());
    assert_eq!(env.value("claude_project_session_total{branch=\"main\",project=\"crashproj\"}"), sessions + 1.0);
}

/// A state dir that does not exist yet, nested several levels deep, is created.
#[test]
fn missing_state_dir_is_created() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "p", "main");
    let state = tmp.path().join("a/b/c/state");
    let mut cmd = env.cmd(&["run"]);
    cmd.env("HOOKMETER_STATE_DIR", &state);
    let out = run_with_stdin(cmd, &event("SessionStart", "s", &repo, json!({})));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(state.join("hookmeter.db").is_file());
}

/// Run one event with `HOOKMETER_STATE_DIR=state`; the run must fail with exit 1, nothing on
/// stdout (Claude Code reads stdout) and one stderr line naming `names`. Returns the line.
fn refused(state: &Path, names: &Path, setup: impl FnOnce(&mut Command)) -> String {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "p", "main");
    let mut cmd = env.cmd(&["run"]);
    cmd.env("HOOKMETER_STATE_DIR", state);
    setup(&mut cmd);
    let out = run_with_stdin(cmd, &event("SessionStart", "s", &repo, json!({})));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout must stay empty, got {:?}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(&names.display().to_string()), "{stderr:?} should name {}", names.display());
    assert!(!stderr.contains("panicked"), "{stderr}");
    println!("{}: {}", state.display(), stderr.trim());
    stderr
}

/// A state dir that cannot be created (its parent is a regular file) → exit 1, error names it.
#[test]
fn state_dir_that_cannot_be_created_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let state = file.join("state");
    let line = refused(&state, &state, |_| {});
    assert!(line.contains("HOOKMETER_STATE_DIR"), "the error says how to fix it: {line}");
}

/// A state dir on a full disk: a 64 KiB tmpfs filled to the last byte when mounting is
/// allowed (the test runs as root in CI); otherwise RLIMIT_FSIZE = 0 on the child, so every
/// write fails with EFBIG. Either way: exit 1, a clear error, nothing on stdout.
#[test]
fn state_dir_on_a_full_disk_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("full");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = mounted.then(|| Unmount(mnt.clone()));
    let state = mnt.join("state");
    if mounted {
        // Fill the filesystem: write until ENOSPC.
        let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        for _ in 0..10_000 {
            if f.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = f.sync_all();
        println!("full disk: a 64 KiB tmpfs filled to ENOSPC");
        refused(&state, &state, |_| {});
    } else {
        println!("full disk: mount not permitted, RLIMIT_FSIZE = 0 on the child instead");
        refused(&state, &state, |cmd| {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs between
            // fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        });
    }
}

/// The bad inputs pipeline.rs does not cover: duplicate keys (serde_json keeps the last, as
/// JavaScript does: the run succeeds and counts the last name) and a 50 MB payload (refused
/// after reading 32 MiB + 1 byte, nothing counted).
#[test]
fn duplicate_keys_and_50_mb_input() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "dup", "main");
    let dup = format!(
        r#"{{"hook_event_name":"Stop","hook_event_name":"SessionStart","session_id":"d","cwd":{}}}"#,
        serde_json::to_string(&repo).unwrap()
    );
    let out = env.run_hook(dup.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.value("hookmeter_events_total{event=\"SessionStart\"}"), 1.0, "the last duplicate wins");
    assert_eq!(env.value("hookmeter_events_total{event=\"Stop\"}"), 0.0);

    let before = env.metrics();
    let mut big = b"{\"hook_event_name\":\"Stop\",\"x\":\"".to_vec();
    big.resize(50_000_000, b'a');
    big.extend_from_slice(b"\"}");
    let out = env.run_hook(&big);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("larger than 32 MiB"), "{stderr:?}");
    assert_eq!(env.metrics(), before, "a refused event changes nothing");
}

/// `hookmeter flush` killed with SIGKILL at random points against a real Pushgateway, with
/// an event before each: the store stays intact, and one completed flush afterwards puts the
/// exact local totals at the gateway.
#[test]
fn sigkill_during_flush_then_one_flush_restores_the_totals() {
    use hookmeter_e2e::servers::Pushgateway;
    let rounds = if full() { 300 } else { 40 };
    let gw = Pushgateway::start();
    let env = Env::with_config("[push]\ninterval_seconds = 3600\n");
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "flushproj", "main");
    let with_push = |mut cmd: Command| {
        cmd.env("PUSHGATEWAY_URL", gw.url()).env("HOOKMETER_INSTANCE", "kill-flush");
        cmd
    };
    let mut rng = Rng::from_time();
    let (mut completed, mut killed) = (0u64, 0u64);
    for round in 0..rounds {
        let out = run_with_stdin(with_push(env.cmd(&["run"])), &event("SessionStart", &format!("f{round}"), &repo, json!({})));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut child = with_push(env.cmd(&["flush"])).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        let status = match child.try_wait().unwrap() {
            Some(status) => status,
            None => {
                let _ = child.kill();
                child.wait().unwrap()
            }
        };
        if status.success() { completed += 1 } else { killed += 1 }
    }
    assert_eq!(integrity_check(&env.state_dir()), "ok");
    let out = with_push(env.cmd(&["flush"])).output().unwrap();
    assert!(out.status.success(), "final flush: {}", String::from_utf8_lossy(&out.stderr));
    let group = gw.group("kill-flush").expect("the gateway has the instance's group");
    let at_gateway: f64 = group.family("hookmeter_events_total").iter().map(|s| s.value).sum();
    println!("flush kills: {rounds} rounds, {completed} flushes completed, {killed} killed; gateway total {at_gateway}");
    assert_eq!(at_gateway, rounds as f64, "the gateway has every event after one good flush");
    assert_eq!(env.value("hookmeter_events_total{event=\"SessionStart\"}"), rounds as f64);
}
