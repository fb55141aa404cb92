//! Pushing to a real Pushgateway, scraped by a real Prometheus (Debian packages, loopback
//! ports): totals exact, nothing lost while the gateway is down, hook runs never wait on it,
//! groups per machine, odd label values intact, TLS and basic auth, no secret in any output.
//!
//! Timings are printed (`cargo test -- --nocapture` shows them), never asserted beyond a
//! generous sanity bound: the machine running the tests may be slow or busy.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hookmeter_e2e::servers::{Labels, Prometheus, Pushgateway, WebConfig};
use hookmeter_e2e::{Env, event, fake_repo, parse_exposition, run_with_stdin};
use serde_json::json;

/// Families the gateway adds to every group; not ours.
const GATEWAY_FAMILIES: &[&str] = &["push_time_seconds", "push_failure_time_seconds"];
/// A hook run slower than this is broken, whatever the machine (the budget is milliseconds).
const SANE_RUN: Duration = Duration::from_secs(3);

/// One machine: a state dir + config, plus environment variables for every command.
struct Machine<'a> {
    env: &'a Env,
    vars: Vec<(&'static str, String)>,
}

/// A series: family name and labels (without the gateway's grouping labels).
type SeriesKey = (String, Labels);

impl<'a> Machine<'a> {
    fn new(env: &'a Env, vars: &[(&'static str, &str)]) -> Machine<'a> {
        Machine { env, vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect() }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.env.cmd(args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// One `hookmeter run`; it must succeed. Returns its wall time.
    fn hook(&self, payload: &[u8]) -> Duration {
        let started = Instant::now();
        let out = run_with_stdin(self.cmd(&["run"]), payload);
        let took = started.elapsed();
        assert!(out.status.success(), "hookmeter run failed: {}\n{}", text(&out.stderr), self.env.log());
        took
    }

    fn flush(&self) -> Output {
        self.cmd(&["flush"]).output().unwrap()
    }

    fn flush_ok(&self) -> String {
        let out = self.flush();
        assert!(out.status.success(), "hookmeter flush failed: {}\nlog:\n{}", text(&out.stderr), self.env.log());
        text(&out.stdout)
    }

    fn dry_run(&self) -> String {
        let out = self.cmd(&["flush", "--dry-run"]).output().unwrap();
        assert!(out.status.success(), "hookmeter flush --dry-run failed: {}", text(&out.stderr));
        text(&out.stdout)
    }

    fn status(&self) -> serde_json::Value {
        let out = self.cmd(&["status", "--json"]).output().unwrap();
        assert!(out.status.success(), "hookmeter status failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The local totals, as `hookmeter metrics` prints them (what a push sends).
    fn local(&self) -> BTreeMap<SeriesKey, f64> {
        let out = self.cmd(&["metrics"]).output().unwrap();
        assert!(out.status.success(), "hookmeter metrics failed: {}", text(&out.stderr));
        parse_exposition(&text(&out.stdout)).into_iter().map(|(series, v)| (parse_series(&series), v)).collect()
    }

    /// Wait until no flush runs or waits: both push locks free, twice in a row.
    fn wait_quiet(&self) {
        let dir = self.env.state_dir();
        let free = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(name))
                .is_ok_and(|f| f.try_lock().is_ok())
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut quiet_checks = 0;
        while quiet_checks < 2 {
            assert!(Instant::now() < deadline, "background flushes still running after 60 s\n{}", self.env.log());
            std::thread::sleep(Duration::from_millis(250));
            quiet_checks = if free("push.lock") && free("push.queue.lock") { quiet_checks + 1 } else { 0 };
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `name{a="x",b="y\"z"}` → (name, labels), undoing the exposition escapes.
fn parse_series(series: &str) -> SeriesKey {
    let Some((name, rest)) = series.split_once('{') else { return (series.to_owned(), Labels::new()) };
    let mut labels = Labels::new();
    let mut chars = rest.chars();
    loop {
        let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if label.is_empty() || label == "}" {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "bad series {series:?}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(label, value);
        if chars.next() != Some(',') {
            break;
        }
    }
    (name.to_owned(), labels)
}

/// The gateway's group for `instance`, as series → value, grouping labels removed.
fn gateway_series(gw: &Pushgateway, instance: &str) -> BTreeMap<SeriesKey, f64> {
    let group = gw
        .group(instance)
        .unwrap_or_else(|| panic!("no group instance={instance:?} at the gateway; groups: {:?}", gw.groups()));
    group
        .samples
        .iter()
        .filter(|s| !GATEWAY_FAMILIES.contains(&s.name.as_str()))
        .map(|s| {
            let mut labels = s.labels.clone();
            for k in group.labels.keys() {
                labels.remove(k);
            }
            ((s.name.clone(), labels), s.value)
        })
        .collect()
}

fn assert_gateway_has_local_totals(gw: &Pushgateway, machine: &Machine, instance: &str) -> BTreeMap<SeriesKey, f64> {
    let local = machine.local();
    let remote = gateway_series(gw, instance);
    assert_eq!(remote, local, "the gateway's values differ from the local totals");
    local
}

fn value_of(series: &BTreeMap<SeriesKey, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: Labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    series.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

/// Median and max, in ms.
fn summary(times: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

fn prompt(repo: &Path, session: &str) -> Vec<u8> {
    event("UserPromptSubmit", session, repo, json!({"prompt": "hi"}))
}

fn session_start(repo: &Path, session: &str) -> Vec<u8> {
    event("SessionStart", session, repo, json!({"source": "startup"}))
}

#[test]
fn five_hundred_events_are_exact_at_the_gateway_and_in_prometheus() {
    let gw = Pushgateway::start();
    let prom = Prometheus::start(&[gw.address()]);
    // PUSHGATEWAY_URL, the variable users already set, turns pushing on; a 1 s interval makes
    // the runs themselves push many times, so Prometheus sees the totals grow.
    let env = Env::with_config("[push]\ninterval_seconds = 1\n");
    let machine = Machine::new(&env, &[("PUSHGATEWAY_URL", &gw.url()), ("HOOKMETER_INSTANCE", "e2e-500")]);
    let repo = fake_repo(env.dir.path(), "proj500", "main");

    // A baseline Prometheus has scraped before the 500 events: both event series at 1.
    machine.hook(&session_start(&repo, "s-base"));
    machine.hook(&prompt(&repo, "s-base"));
    machine.flush_ok();
    let events = r#"hookmeter_events_total{instance="e2e-500"}"#;
    let seen = prom.wait_for(events, Duration::from_secs(60), |r| r.len() == 2 && r.iter().all(|(_, v)| *v == 1.0));
    assert!(seen.len() == 2 && seen.iter().all(|(_, v)| *v == 1.0), "baseline not scraped: {seen:?}\n{}", prom.log());

    let mut times = Vec::new();
    for i in 0..500 {
        let payload =
            if i % 5 == 0 { session_start(&repo, &format!("s{i}")) } else { prompt(&repo, &format!("s{}", i - i % 5)) };
        times.push(machine.hook(&payload));
    }
    let out = machine.flush_ok();
    println!("flush: {}", out.trim());

    let local = assert_gateway_has_local_totals(&gw, &machine, "e2e-500");
    assert_eq!(value_of(&local, "hookmeter_events_total", &[("event", "SessionStart")]), 101.0);
    assert_eq!(value_of(&local, "hookmeter_events_total", &[("event", "UserPromptSubmit")]), 401.0);
    assert_eq!(value_of(&local, "claude_project_session_total", &[("project", "proj500"), ("branch", "main")]), 101.0);
    assert_eq!(value_of(&local, "claude_project_prompts_total", &[("project", "proj500"), ("branch", "main")]), 401.0);

    // Prometheus: wait until it has scraped the final totals, then look at every sample.
    let done = prom
        .wait_for(&format!("sum({events})"), Duration::from_secs(60), |r| r.first().is_some_and(|(_, v)| *v == 502.0));
    assert_eq!(done.first().map(|(_, v)| *v), Some(502.0), "Prometheus never saw the final totals\n{}", prom.log());
    let samples = prom.samples(&format!("{events}[10m]"));
    assert_eq!(samples.len(), 2, "{samples:?}");
    let mut total_increase = 0.0;
    let mut distinct_values = 0;
    for (labels, points) in &samples {
        let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
        // No false counter reset: an older snapshot never landed after a newer one.
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{labels:?} went down: {values:?}");
        let (first, last) = (points[0], points[points.len() - 1]);
        assert_eq!(first.1, 1.0, "{labels:?}: first scraped value");
        // increase() over exactly the scraped span (range ends are inclusive in Prometheus 2):
        // no extrapolation, so it must equal last - first.
        let span_ms = ((last.0 - first.0) * 1000.0).round() as u64;
        let selector = format!(r#"hookmeter_events_total{{instance="e2e-500",event="{}"}}"#, labels["event"]);
        let increase = prom.query(&format!("increase({selector}[{span_ms}ms] @ {:.3})", last.0));
        assert_eq!(increase.len(), 1, "{increase:?}");
        total_increase += increase[0].1;
        let mut dedup = values.clone();
        dedup.dedup();
        distinct_values += dedup.len();
    }
    let extrapolated: f64 = prom.query(&format!("sum(increase({events}[10m]))")).iter().map(|(_, v)| v).sum();
    let (median, max) = summary(&times);
    println!(
        "500 events: hook run median {median:.1} ms, max {max:.1} ms; Prometheus saw {distinct_values} distinct values; \
         increase() over the scraped span = {total_increase}, extrapolated increase(...[10m]) = {extrapolated:.2}"
    );
    assert_eq!(total_increase, 500.0, "Prometheus increase() over the run");
    assert!(max < SANE_RUN.as_secs_f64() * 1000.0, "a hook run took {max} ms");
}

#[test]
fn gateway_down_for_200_events_then_one_flush_restores_exact_totals() {
    let mut gw = Pushgateway::start();
    // Every run tries to push (interval 0), so every one of the 200 runs meets the dead gateway.
    let env = Env::with_config(&format!(
        "[push]\nurl = \"{}\"\ninstance = \"e2e-down\"\ninterval_seconds = 0\nconnect_timeout_ms = 500\ntimeout_ms = 2000\n",
        gw.url()
    ));
    let machine = Machine::new(&env, &[]);
    let repo = fake_repo(env.dir.path(), "downproj", "main");
    machine.hook(&prompt(&repo, "warm")); // compiles the plugins into the cache: not timed
    let up: Vec<Duration> = (0..49).map(|i| machine.hook(&prompt(&repo, &format!("u{i}")))).collect();
    machine.wait_quiet();
    machine.flush_ok();
    assert_gateway_has_local_totals(&gw, &machine, "e2e-down");

    gw.stop();
    let down: Vec<Duration> = (0..200).map(|i| machine.hook(&prompt(&repo, &format!("d{i}")))).collect();
    machine.wait_quiet();
    let status = machine.status();
    assert_eq!(status["record"]["last_result"], "failed", "{status:#}");
    let error = status["record"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot reach the Pushgateway"), "{error}");
    assert!(status["pending_generations"].as_u64().unwrap() >= 200, "{status:#}");
    let failed = machine.flush();
    assert!(!failed.status.success(), "flush to a stopped gateway succeeded");
    println!("flush while down: {}", text(&failed.stderr).trim());

    gw.start_again();
    assert!(gw.group("e2e-down").is_none(), "a restarted gateway without persistence should be empty");
    machine.flush_ok();
    let local = assert_gateway_has_local_totals(&gw, &machine, "e2e-down");
    assert_eq!(value_of(&local, "hookmeter_events_total", &[("event", "UserPromptSubmit")]), 250.0);
    assert_eq!(value_of(&local, "claude_project_prompts_total", &[("project", "downproj"), ("branch", "main")]), 250.0);
    let status = machine.status();
    assert_eq!(status["pending_generations"], 0, "{status:#}");
    assert_eq!(status["record"]["last_result"], "ok", "{status:#}");

    let ((up_median, up_max), (down_median, down_max)) = (summary(&up), summary(&down));
    println!(
        "hook runs with the gateway up: median {up_median:.1} ms, max {up_max:.1} ms; down: median {down_median:.1} ms, max {down_max:.1} ms"
    );
    assert!(down_max < SANE_RUN.as_secs_f64() * 1000.0, "a hook run took {down_max} ms while the gateway was down");
}

/// A loopback listener that completes no handshake: its accept queue is full, so the kernel
/// drops further SYNs and a client's connect hangs until its own timeout.
struct BlackHole {
    fd: libc::c_int,
    port: u16,
    _queued: Vec<TcpStream>,
}

impl BlackHole {
    fn new() -> BlackHole {
        // SAFETY: plain socket syscalls on a descriptor this function owns; `addr` is a valid
        // sockaddr_in for the lengths passed.
        let (fd, port) = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
            assert_eq!(libc::listen(fd, 0), 0);
            let mut bound: libc::sockaddr_in = std::mem::zeroed();
            let mut blen = len;
            assert_eq!(libc::getsockname(fd, (&raw mut bound).cast(), &mut blen), 0);
            (fd, u16::from_be(bound.sin_port))
        };
        // Fill the accept queue (never accepted) until a connection no longer completes.
        let addr = ([127, 0, 0, 1], port).into();
        let mut queued = Vec::new();
        for _ in 0..8 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(s) => queued.push(s),
                Err(_) => return BlackHole { fd, port, _queued: queued },
            }
        }
        panic!("the listener on port {port} kept accepting connections; cannot black-hole it");
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        // SAFETY: `fd` is the listener this struct owns, closed once.
        unsafe { libc::close(self.fd) };
    }
}

#[test]
fn black_holed_gateway_never_slows_hook_runs() {
    let hole = BlackHole::new();
    let repo_parent = tempfile::tempdir().unwrap();
    let repo = fake_repo(repo_parent.path(), "holeproj", "main");

    // The same runs without pushing, for comparison.
    let quiet_env = Env::new();
    let quiet = Machine::new(&quiet_env, &[]);
    quiet.hook(&prompt(&repo, "warm")); // compiles the plugins into the cache
    let baseline: Vec<Duration> = (0..30).map(|i| quiet.hook(&prompt(&repo, &format!("q{i}")))).collect();

    let env = Env::with_config(&format!(
        "[push]\nurl = \"http://127.0.0.1:{}\"\ninstance = \"e2e-hole\"\ninterval_seconds = 0\nconnect_timeout_ms = 500\ntimeout_ms = 1500\n",
        hole.port
    ));
    let machine = Machine::new(&env, &[]);
    machine.hook(&prompt(&repo, "warm"));
    let started_ms = now_ms();
    let holed: Vec<Duration> = (0..30).map(|i| machine.hook(&prompt(&repo, &format!("h{i}")))).collect();
    // Stop and SessionEnd start a flush whatever the interval.
    let stop = machine.hook(&event("Stop", "h0", &repo, json!({})));

    // The detached flushes give up on their own; wait for them, then read what they recorded.
    machine.wait_quiet();
    let status = machine.status();
    let record = &status["record"];
    assert_eq!(record["last_result"], "failed", "{status:#}");
    assert!(record["last_attempt_ms"].as_u64().unwrap() >= started_ms, "{status:#}");
    let error = record["last_error"].as_str().unwrap();
    assert!(error.contains("connect_timeout_ms"), "expected a connect timeout: {error}");
    let gave_up_after = record["last_duration_ms"].as_u64().unwrap();

    // And a foreground flush says so, within its timeout.
    let t = Instant::now();
    let out = machine.flush();
    let flush_took = t.elapsed();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no connection within 500 ms"), "{stderr}");

    let ((base_median, base_max), (hole_median, hole_max)) = (summary(&baseline), summary(&holed));
    println!(
        "hook runs without push: median {base_median:.1} ms, max {base_max:.1} ms; black-holed gateway: median {hole_median:.1} ms, \
         max {hole_max:.1} ms; Stop run {:.1} ms; background flush gave up after {gave_up_after} ms; foreground flush {:.0} ms: {}",
        stop.as_secs_f64() * 1000.0,
        flush_took.as_secs_f64() * 1000.0,
        stderr.trim()
    );
    assert!(hole_max < SANE_RUN.as_secs_f64() * 1000.0, "a hook run took {hole_max} ms with a black-holed gateway");
    assert!(gave_up_after < 500 + 1500 + 3000, "the background flush took {gave_up_after} ms to give up");
    assert!(flush_took < Duration::from_millis(500 + 1500 + 3000), "flush took {flush_took:?}");
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn two_machines_push_separate_groups_to_one_gateway() {
    let gw = Pushgateway::start();
    let prom = Prometheus::start(&[gw.address()]);
    // One machine names itself in the config, the other through HOOKMETER_INSTANCE.
    let env_a = Env::with_config(&format!("[push]\nurl = \"{}\"\ninstance = \"laptop-a\"\n", gw.url()));
    let env_b = Env::with_config(&format!("[push]\nurl = \"{}\"\n", gw.url()));
    let a = Machine::new(&env_a, &[]);
    let b = Machine::new(&env_b, &[("HOOKMETER_INSTANCE", "laptop-b")]);
    let repo_a = fake_repo(env_a.dir.path(), "shared", "main");
    let repo_b = fake_repo(env_b.dir.path(), "shared", "main");
    for i in 0..30 {
        a.hook(&prompt(&repo_a, &format!("a{i}")));
    }
    for i in 0..45 {
        b.hook(&prompt(&repo_b, &format!("b{i}")));
    }
    a.flush_ok();
    b.flush_ok();
    let local_a = assert_gateway_has_local_totals(&gw, &a, "laptop-a");
    let local_b = assert_gateway_has_local_totals(&gw, &b, "laptop-b");
    let key = [("project", "shared"), ("branch", "main")];
    assert_eq!(value_of(&local_a, "claude_project_prompts_total", &key), 30.0);
    assert_eq!(value_of(&local_b, "claude_project_prompts_total", &key), 45.0);

    let sum = r#"sum(claude_project_prompts_total{project="shared",branch="main"})"#;
    let result = prom.wait_for(sum, Duration::from_secs(60), |r| r.first().is_some_and(|(_, v)| *v == 75.0));
    assert_eq!(result.first().map(|(_, v)| *v), Some(75.0), "{result:?}\n{}", prom.log());
    let per_instance = prom.query(r#"sum by (instance, job) (claude_project_prompts_total{project="shared"})"#);
    let mut seen: Vec<(String, String, f64)> =
        per_instance.iter().map(|(l, v)| (l["instance"].clone(), l["job"].clone(), *v)).collect();
    seen.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        seen,
        vec![("laptop-a".into(), "hookmeter".into(), 30.0), ("laptop-b".into(), "hookmeter".into(), 45.0)]
    );
}

#[test]
fn odd_label_values_and_grouping_values_round_trip() {
    let gw = Pushgateway::start();
    let prom = Prometheus::start(&[gw.address()]);
    let instance = "dev/α #1?%&=";
    let env = Env::with_config(&format!(
        "[push]\nurl = \"{}/\"\ninstance = {}\n[push.grouping]\nteam = \"a/b c\"\nsite = \"\"\n",
        gw.url(),
        toml_string(instance)
    ));
    let machine = Machine::new(&env, &[]);
    // Project names come from the directory, branches from .git/HEAD.
    let cases: &[(&str, &str)] = &[
        ("quo\"te", "feature/x#1"),
        ("back\\slash", "a\"b\\c"),
        ("new\nline", "line1\nline2"),
        ("ünïcødé 🚀", "fix/%2F?q=1&r"),
        ("plain", "{braces},=commas"),
    ];
    for (i, (project, branch)) in cases.iter().enumerate() {
        let repo = fake_repo(env.dir.path(), project, branch);
        machine.hook(&session_start(&repo, &format!("s{i}")));
    }

    // promtool accepts the exact text a push sends.
    let body = machine.dry_run();
    let promtool = promtool_check(&body);
    assert!(
        promtool.status.success(),
        "promtool check metrics: {}{}\n{body}",
        text(&promtool.stdout),
        text(&promtool.stderr)
    );

    machine.flush_ok();
    let group = gw.group(instance).unwrap_or_else(|| panic!("group missing: {:?}", gw.groups()));
    let expected_group: Labels = [("job", "hookmeter"), ("instance", instance), ("team", "a/b c"), ("site", "")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(group.labels, expected_group);
    let mut at_gateway: Vec<(String, String, f64)> = group
        .family("claude_project_session_total")
        .iter()
        .map(|s| (s.labels["project"].clone(), s.labels["branch"].clone(), s.value))
        .collect();
    at_gateway.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected: Vec<(String, String, f64)> =
        cases.iter().map(|(p, b)| (p.to_string(), b.to_string(), 1.0)).collect();
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(at_gateway, expected);
    assert_gateway_has_local_totals(&gw, &machine, instance);

    // And through a scrape into Prometheus.
    let query = "claude_project_session_total";
    let result = prom.wait_for(query, Duration::from_secs(60), |r| r.len() == cases.len());
    let mut in_prometheus: Vec<(String, String, f64)> =
        result.iter().map(|(l, v)| (l["project"].clone(), l["branch"].clone(), *v)).collect();
    in_prometheus.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(in_prometheus, expected, "{}", prom.log());
    assert!(result.iter().all(|(l, _)| l["instance"] == instance && l["team"] == "a/b c"), "{result:?}");
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn promtool_check(body: &str) -> Output {
    let mut child = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn gauges_of_a_gone_plugin_leave_the_gateway_counters_stay() {
    let gw = Pushgateway::start();
    let env = Env::with_config(&format!("[push]\nurl = \"{}\"\ninstance = \"e2e-gone\"\n", gw.url()));
    let machine = Machine::new(&env, &[]);
    let repo = fake_repo(env.dir.path(), "goneproj", "main");
    machine.hook(&session_start(&repo, "s1"));
    machine.hook(&prompt(&repo, "s1"));
    machine.flush_ok();
    let before = gateway_series(&gw, "e2e-gone");
    let key = [("project", "goneproj"), ("branch", "main")];
    assert_eq!(value_of(&before, "claude_project_active", &key), 1.0);

    env.set_config(&format!(
        "[push]\nurl = \"{}\"\ninstance = \"e2e-gone\"\n[plugins.project-sessions]\nenabled = false\n",
        gw.url()
    ));
    machine.hook(&prompt(&repo, "s1"));
    machine.flush_ok();
    let after = gateway_series(&gw, "e2e-gone");
    let names: Vec<&str> = after.keys().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"claude_project_active"), "a gone plugin's gauge was pushed: {names:?}");
    assert!(!names.contains(&"claude_project_last_active_timestamp_seconds"), "{names:?}");
    assert_eq!(value_of(&after, "claude_project_session_total", &key), 1.0, "counters stay, never decremented");
    assert_eq!(value_of(&after, "claude_project_prompts_total", &key), 1.0);
    assert_eq!(value_of(&after, "hookmeter_events_total", &[("event", "UserPromptSubmit")]), 2.0);
}

/// A throwaway CA and a server certificate for 127.0.0.1, as PEM: (ca, cert, key).
fn test_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "hookmeter test CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    server_params.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}

#[test]
fn tls_and_basic_auth_against_a_secured_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    std::fs::write(dir.path().join("server.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("server.key"), &key).unwrap();
    let password = "s3cret-Pa55";
    let hash = bcrypt::hash(password, 4).unwrap();
    let web_config = dir.path().join("web.yml");
    std::fs::write(
        &web_config,
        format!("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: '{hash}'\n"),
    )
    .unwrap();
    let gw = Pushgateway::start_with(WebConfig {
        file: Some(web_config),
        ca_pem: Some(ca.clone().into_bytes()),
        basic_auth: Some(("alice".into(), password.into())),
    });
    let port = gw.port();
    let ca_toml = toml_string(&ca_file.display().to_string());

    // Credentials in the URL.
    let env = Env::with_config(&format!(
        "[push]\nurl = \"https://alice:{password}@127.0.0.1:{port}\"\ninstance = \"e2e-tls\"\nca_file = {ca_toml}\n"
    ));
    let machine = Machine::new(&env, &[]);
    let repo = fake_repo(env.dir.path(), "tlsproj", "main");
    for i in 0..7 {
        machine.hook(&prompt(&repo, &format!("t{i}")));
    }
    let out = machine.flush_ok();
    assert!(!out.contains(password), "{out}");
    let local = assert_gateway_has_local_totals(&gw, &machine, "e2e-tls");
    assert_eq!(value_of(&local, "claude_project_prompts_total", &[("project", "tlsproj"), ("branch", "main")]), 7.0);

    // Credentials as config keys.
    env.set_config(&format!(
        "[push]\nurl = \"https://127.0.0.1:{port}/\"\nusername = \"alice\"\npassword = \"{password}\"\ninstance = \"e2e-tls\"\nca_file = {ca_toml}\n"
    ));
    machine.hook(&prompt(&repo, "t8"));
    machine.flush_ok();
    assert_gateway_has_local_totals(&gw, &machine, "e2e-tls");

    // A wrong password: the gateway's own answer, and the password nowhere.
    let wrong = "wr0ng-Secret";
    env.set_config(&format!(
        "[push]\nurl = \"https://alice:{wrong}@127.0.0.1:{port}\"\ninstance = \"e2e-tls\"\nca_file = {ca_toml}\n"
    ));
    let out = machine.flush();
    assert!(!out.status.success(), "flush with a wrong password succeeded");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 401 Unauthorized"), "{stderr}");
    assert!(stderr.contains("Unauthorized"), "{stderr}");
    let status_out = machine.cmd(&["status"]).output().unwrap();
    let status_json = machine.cmd(&["status", "--json"]).output().unwrap();
    for (what, shown) in [
        ("flush stderr", stderr.clone()),
        ("flush stdout", text(&out.stdout)),
        ("status", text(&status_out.stdout)),
        ("status --json", text(&status_json.stdout)),
        ("log", env.log()),
    ] {
        assert!(!shown.contains(wrong) && !shown.contains(password), "{what} shows a password:\n{shown}");
    }
    println!("wrong password: {}", stderr.trim());

    // Without the CA file the certificate is not trusted (system roots only).
    env.set_config(&format!("[push]\nurl = \"https://alice:{password}@127.0.0.1:{port}\"\ninstance = \"e2e-tls\"\n"));
    let out = machine.flush();
    assert!(!out.status.success(), "flush trusted an unknown CA");
    let stderr = text(&out.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert!(!stderr.contains(password), "{stderr}");
    println!("unknown CA: {}", stderr.trim());
}

/// A one-shot HTTP server that records requests and answers each with the next canned
/// response. For what the real gateway cannot show: headers sent, redirects not followed.
struct Capture {
    port: u16,
    requests: std::sync::mpsc::Receiver<(String, Vec<String>, Vec<u8>)>,
}

impl Capture {
    fn new(responses: Vec<&'static str>) -> Capture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for response in responses {
                let Ok((stream, _)) = listener.accept() else { return };
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut headers = Vec::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end().to_owned();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    headers.push(line);
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let _ = (&stream).write_all(response.as_bytes());
                let _ = tx.send((request_line.trim_end().to_owned(), headers, body));
            }
        });
        Capture { port, requests: rx }
    }
}

#[test]
fn bearer_token_exact_body_and_no_redirects() {
    let capture = Capture::new(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ]);
    let token = "tok-Very-Secret";
    let with_push = format!(
        "[push]\nurl = \"http://127.0.0.1:{}/gw\"\njob = \"claude/hooks\"\ninstance = \"e2e-bearer\"\n",
        capture.port
    );
    // The hook runs happen with pushing off, so no background flush takes a canned answer.
    let env = Env::new();
    let machine = Machine::new(&env, &[("PUSHGATEWAY_BEARER_TOKEN", token)]);
    let repo = fake_repo(env.dir.path(), "bearerproj", "main");
    machine.hook(&prompt(&repo, "b1"));
    env.set_config(&with_push);
    let dry = machine.dry_run();
    machine.flush_ok();
    let (request_line, headers, body) = capture.requests.recv_timeout(Duration::from_secs(10)).unwrap();
    // job "claude/hooks" and instance "e2e-bearer", base64url-encoded.
    assert_eq!(request_line, "PUT /gw/metrics/job@base64/Y2xhdWRlL2hvb2tz/instance@base64/ZTJlLWJlYXJlcg== HTTP/1.1");
    let has = |h: &str| headers.iter().any(|l| l.eq_ignore_ascii_case(h));
    assert!(has(&format!("authorization: Bearer {token}")), "{headers:?}");
    assert!(has("content-type: text/plain; version=0.0.4; charset=utf-8"), "{headers:?}");
    assert_eq!(text(&body), dry, "the pushed bytes differ from `flush --dry-run`");

    // A redirect is reported, not followed (it could carry the token elsewhere).
    env.set_config("");
    machine.hook(&prompt(&repo, "b2"));
    env.set_config(&with_push);
    let out = machine.flush();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 307") && stderr.contains("does not follow redirects"), "{stderr}");
    assert!(!stderr.contains(token) && !env.log().contains(token), "{stderr}");
    capture.requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(capture.requests.recv_timeout(Duration::from_millis(500)).is_err(), "the redirect was followed");
}
