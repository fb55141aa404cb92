//! The dashboard against real data: every PromQL expression in
//! `monitoring/grafana/dashboards/hookmeter.json`, Grafana variables substituted, must parse in
//! a real Prometheus AND return data.
//!
//! The data is as real as this machine allows:
//! - hookmeter's series come from real `hookmeter run`s (sessions in two projects, prompts,
//!   `+N` rep logs, `ExerciseCompleted`, tool uses, and the `hostile` test plugin trapping on
//!   every event so `hookmeter_plugin_errors_total` has data), pushed by `hookmeter flush` (and
//!   the background flushes the runs start) to a real Pushgateway, which a real Prometheus
//!   scrapes with `honor_labels: true`.
//! - Claude Code's own series reach Prometheus only through the OpenTelemetry collector, which
//!   does not run here. So the test serves what the collector's Prometheus exporter would show
//!   for them: [`collector_exposition`] writes the exporter's text, and [`ScrapeTarget`], a
//!   small std::net HTTP server on a loopback port, serves it as a second scrape target. A file
//!   served as a scrape target keeps the exporter's exact shape: its `job="claude-code"` label
//!   (from `service.name`), resource attributes as labels (`resource_to_telemetry_conversion`),
//!   `otel_scope_*` labels, `target_info`, HELP texts from the metric descriptions. Pushing
//!   the same series to the Pushgateway instead would add `instance=""` and a grouping `job`,
//!   which the collector never sends.
//!
//! Everything runs in two rounds, so that counters grow between scrapes and every `rate()` and
//! `increase()` has two samples to compare.
//!
//! Needs `/usr/bin/prometheus` and `/usr/bin/prometheus-pushgateway` (Debian: `apt-get install
//! prometheus prometheus-pushgateway`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hookmeter_e2e::dashboard::{
    all_targets, dashboard, panel_name, shown_labels, substitute, variable_names, variables,
};
use hookmeter_e2e::servers::{Labels, Prometheus, Pushgateway};
use hookmeter_e2e::{Env, event, fake_repo, plugin_wasm};
use serde_json::json;

/// How long Prometheus may take to show what was just pushed or served (it scrapes every
/// second).
const SCRAPE_WAIT: Duration = Duration::from_secs(30);

/// Panels whose healthy answer is 0: for them, data means a result, not a non-zero one.
const ZERO_WHEN_HEALTHY: &[&str] = &["Last push rejected"];

// ------------------------------------------------------------------------------------------
// Claude Code's series, as the collector exports them

/// Resource attributes the pinned Claude Code CLI (2.1.332) sends with every OTLP export,
/// after `resource_to_telemetry_conversion` (dots → underscores). These, the data point
/// attributes, the scope and the descriptions below were captured from the real CLI, run
/// offline against tests/fake-anthropic with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` into a
/// listener (commit and pull request counts, which need a real git remote, from the
/// descriptions in the binary).
const RESOURCE_LABELS: &[(&str, &str)] = &[
    ("host_arch", "amd64"),
    ("os_type", "linux"),
    ("os_version", "6.1.0"),
    ("service_name", "claude-code"),
    ("service_version", "2.1.332"),
];

/// One Claude Code session's cumulative totals at some export (the collector's
/// `deltatocumulative` processor sums Claude Code's deltas into these).
struct OtelSession {
    id: &'static str,
    model: &'static str,
    /// input, output, cacheRead, cacheCreation
    tokens: [f64; 4],
    cost_usd: f64,
    lines: (f64, f64),
    /// (tool_name, language, accepts, rejects)
    edits: (&'static str, &'static str, f64, f64),
    /// (cli, user) seconds
    active: (f64, f64),
    commits: f64,
    pull_requests: f64,
}

/// The session's series as the collector's Prometheus exporter writes them: data point
/// attributes as labels (as the CLI sends them), the resource attributes, `job` from
/// `service.name`, the instrumentation scope as `otel_scope_*`. Labels sorted by name, as the
/// exporter's Prometheus client writes them.
fn collector_exposition(sessions: &[OtelSession]) -> String {
    struct Family {
        name: &'static str,
        help: &'static str,
        samples: Vec<(Vec<(&'static str, String)>, f64)>,
    }
    let mut families = [
        ("claude_code_session_count_total", "Count of CLI sessions started"),
        ("claude_code_token_usage_tokens_total", "Number of tokens used"),
        ("claude_code_cost_usage_USD_total", "Cost of the Claude Code session"),
        (
            "claude_code_lines_of_code_count_total",
            "Count of lines of code modified, with the 'type' attribute indicating whether lines were added or removed and the 'model' attribute indicating which model made the change",
        ),
        (
            "claude_code_code_edit_tool_decision_total",
            "Count of code editing tool permission decisions (accept/reject) for Edit, Write, and NotebookEdit tools",
        ),
        ("claude_code_active_time_seconds_total", "Total active time in seconds"),
        ("claude_code_commit_count_total", "Number of git commits created"),
        ("claude_code_pull_request_count_total", "Number of pull requests created"),
    ]
    .map(|(name, help)| Family { name, help, samples: Vec::new() });
    for s in sessions {
        let common = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            let mut labels: Vec<(&'static str, String)> = vec![
                (
                    "user_id",
                    "26cb065546837e99bfdd50b5886cd1a7aecb15c03e90ac117c0214c5be173907".into(),
                ),
                ("session_id", s.id.into()),
                ("anthropic_provider", "firstParty".into()),
                ("anthropic_custom_base_url", "true".into()),
                ("terminal_type", "non-interactive".into()),
                ("job", "claude-code".into()),
                ("otel_scope_name", "com.anthropic.claude_code".into()),
                ("otel_scope_version", "2.1.332".into()),
            ];
            labels.extend(RESOURCE_LABELS.iter().map(|(k, v)| (*k, (*v).to_owned())));
            labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            labels.sort();
            labels
        };
        let usage = [
            ("model", s.model),
            ("query_source", "main"),
            ("effort", "medium"),
        ];
        let with = |more: &[(&'static str, &'static str)]| -> Vec<(&'static str, &str)> {
            usage.iter().chain(more).copied().collect()
        };
        families[0]
            .samples
            .push((common(&[("start_type", "fresh")]), 1.0));
        for (t, v) in ["input", "output", "cacheRead", "cacheCreation"]
            .into_iter()
            .zip(s.tokens)
        {
            families[1].samples.push((common(&with(&[("type", t)])), v));
        }
        families[2].samples.push((common(&usage), s.cost_usd));
        families[3]
            .samples
            .push((common(&[("type", "added"), ("model", s.model)]), s.lines.0));
        families[3].samples.push((
            common(&[("type", "removed"), ("model", s.model)]),
            s.lines.1,
        ));
        let (tool, language, accepts, rejects) = s.edits;
        for (decision, source, v) in [
            ("accept", "config", accepts),
            ("reject", "user_reject", rejects),
        ] {
            let labels = [
                ("decision", decision),
                ("source", source),
                ("tool_name", tool),
                ("language", language),
            ];
            families[4].samples.push((common(&labels), v));
        }
        families[5]
            .samples
            .push((common(&[("type", "cli")]), s.active.0));
        families[5]
            .samples
            .push((common(&[("type", "user")]), s.active.1));
        families[6].samples.push((common(&[]), s.commits));
        families[7].samples.push((common(&[]), s.pull_requests));
    }
    let mut out = String::new();
    for f in &families {
        out.push_str(&format!(
            "# HELP {} {}\n# TYPE {} counter\n",
            f.name, f.help, f.name
        ));
        for (labels, value) in &f.samples {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            out.push_str(&format!("{}{{{}}} {value}\n", f.name, labels.join(",")));
        }
    }
    // The exporter's one-per-resource info metric (job/instance are not repeated in it).
    let info: Vec<String> = RESOURCE_LABELS
        .iter()
        .filter(|(k, _)| *k != "service_name")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    out.push_str("# HELP target_info Target metadata\n# TYPE target_info gauge\n");
    out.push_str(&format!(
        "target_info{{job=\"claude-code\",{}}} 1\n",
        info.join(",")
    ));
    out
}

/// Claude Code's totals after the first and the second export round: one session that keeps
/// working, and a second one that starts in round two.
fn otel_round(round: u32) -> Vec<OtelSession> {
    let r = f64::from(round);
    let mut sessions = vec![OtelSession {
        id: "0f3c2a8e-6d7b-4c1a-9e55-1b2d3c4e5f60",
        model: "claude-sonnet-4-5",
        tokens: [25_000.0 * r, 800.0 * r, 60_000.0 * r, 4_000.0 * r],
        cost_usd: 0.42 * r,
        lines: (40.0 * r, 7.0 * r),
        edits: ("Edit", "Rust", 3.0 * r, 1.0 * r),
        active: (95.5 * r, 40.0 * r),
        commits: r,
        pull_requests: r,
    }];
    if round >= 2 {
        sessions.push(OtelSession {
            id: "7a1b9c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            model: "claude-haiku-4-5",
            tokens: [3_000.0, 150.0, 9_000.0, 500.0],
            cost_usd: 0.01,
            lines: (4.0, 0.0),
            edits: ("Write", "Python", 1.0, 0.0),
            active: (5.0, 12.0),
            commits: 0.0,
            pull_requests: 0.0,
        });
    }
    sessions
}

/// A scrape target on a free loopback port that serves `/metrics` from a text the test can
/// replace; stopped (and its thread joined) on drop.
struct ScrapeTarget {
    addr: String,
    body: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScrapeTarget {
    fn start(body: String) -> ScrapeTarget {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let body = Arc::new(Mutex::new(body));
        let stop = Arc::new(AtomicBool::new(false));
        let (served, stopping) = (body.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let text = served.lock().unwrap().clone();
                    let _ = answer(stream, &text);
                }
            }
        });
        ScrapeTarget {
            addr,
            body,
            stop,
            thread: Some(thread),
        }
    }

    fn set(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }
}

impl Drop for ScrapeTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read one request (headers only; a scrape has no body) and answer it with `text` in the
/// Prometheus text format, as the collector's exporter does.
fn answer(mut stream: TcpStream, text: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf)? {
            0 => break,
            n => request.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = if request.starts_with(b"GET /metrics ") {
        ("200 OK", text)
    } else {
        ("404 Not Found", "")
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

// ------------------------------------------------------------------------------------------
// hookmeter's series, from real runs

/// The state dir's config: push to `gateway` as instance `e2e-host`; suggest a set on every
/// prompt (cooldown 0), from a rotation of two, so that each round's two suggestions grow the
/// same two series (`increase()` cannot count a series' first value); the hostile plugin
/// traps on every event.
fn hookmeter_config(gateway: &str, hostile: &Path) -> String {
    format!(
        "[push]\nurl = {gateway:?}\ninstance = \"e2e-host\"\n\n\
         [plugins.exercise]\ncooldown_minutes = 0\nexercises = [\"squats\", \"pushups\"]\n\n\
         [plugins.hostile]\npath = {:?}\nmode = \"trap\"\n",
        hostile.display().to_string()
    )
}

/// Events per round, all through `hookmeter run`.
const EVENTS_PER_ROUND: usize = 11;
/// Reps logged per round: `+10 squats`, `+5` (of the last suggested exercise: pushups), 12
/// pushups tracked.
const REPS_PER_ROUND: f64 = 27.0;

/// One round of hook events in two projects; returns how many ran.
fn hook_round(env: &Env, alpha: &Path, beta: &Path, round: u32) -> usize {
    let (sa, sb) = (format!("alpha-{round}"), format!("beta-{round}"));
    let events = [
        event("SessionStart", &sa, alpha, json!({"source": "startup"})),
        event("SessionStart", &sb, beta, json!({"source": "startup"})),
        event(
            "UserPromptSubmit",
            &sa,
            alpha,
            json!({"prompt": "fix the failing test"}),
        ),
        event(
            "UserPromptSubmit",
            &sa,
            alpha,
            json!({"prompt": "+10 squats"}),
        ),
        event(
            "UserPromptSubmit",
            &sb,
            beta,
            json!({"prompt": "refactor the parser"}),
        ),
        event("UserPromptSubmit", &sb, beta, json!({"prompt": "+5"})),
        event(
            "ExerciseCompleted",
            &sb,
            beta,
            json!({"exercise": "push-ups", "reps": 12, "duration_seconds": 40, "mode": "break"}),
        ),
        event(
            "PostToolUse",
            &sa,
            alpha,
            json!({"tool_name": "Edit", "tool_input": {}, "tool_response": {}}),
        ),
        event(
            "PostToolUse",
            &sb,
            beta,
            json!({"tool_name": "Bash", "tool_input": {}, "tool_response": {}}),
        ),
        event("Stop", &sa, alpha, json!({"stop_hook_active": false})),
        event("SessionEnd", &sb, beta, json!({"reason": "exit"})),
    ];
    for (i, payload) in events.iter().enumerate() {
        let out = env.run_hook(payload);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}, event {i}: hookmeter run failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            env.log()
        );
        // The rep logs are answered (blocked, so they never reach the model).
        if i == 3 || i == 5 {
            let answer: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                    panic!(
                        "round {round}, event {i}: no JSON answer ({e}): {:?}",
                        String::from_utf8_lossy(&out.stdout)
                    )
                });
            assert_eq!(answer["decision"], "block", "{answer}");
        }
    }
    events.len()
}

/// `hookmeter flush`: pushes now (after any background flush the runs started).
fn flush(env: &Env) {
    let out = env.cmd(&["flush"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("pushed "),
        "hookmeter flush: {stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.log()
    );
}

// ------------------------------------------------------------------------------------------
// The test

fn sum_of(prom: &Prometheus, promql: &str) -> f64 {
    prom.query(promql).iter().map(|(_, v)| v).sum()
}

/// Wait until `promql` sums to `want` (what was just pushed or served has been scraped).
fn wait_for_sum(prom: &Prometheus, promql: &str, want: f64, what: &str) {
    let got = prom.wait_for(promql, SCRAPE_WAIT, |r| {
        r.iter().map(|(_, v)| v).sum::<f64>() == want
    });
    let got: f64 = got.iter().map(|(_, v)| v).sum();
    assert_eq!(
        got,
        want,
        "{what}: `{promql}` is {got}, expected {want} after {SCRAPE_WAIT:?}\n{}",
        prom.log()
    );
}

/// What a query returned, judged: `Ok` when it has data, else why not.
fn judge(panel: &str, result: &[(Labels, f64)], shown: &[String]) -> Result<(), String> {
    if result.is_empty() {
        return Err("no data".into());
    }
    if !ZERO_WHEN_HEALTHY
        .iter()
        .any(|p| panel.contains(&format!("{p:?}")))
        && !result.iter().any(|(_, v)| v.is_finite() && *v != 0.0)
    {
        let values: Vec<f64> = result.iter().map(|(_, v)| *v).collect();
        return Err(format!("only zero or NaN values: {values:?}"));
    }
    for label in shown {
        if result
            .iter()
            .any(|(l, _)| l.get(label).is_none_or(String::is_empty))
        {
            return Err(format!("a result series has no `{label}` label to show"));
        }
    }
    Ok(())
}

#[test]
fn every_dashboard_query_returns_data_from_real_hookmeter_runs_and_collector_shaped_otel_series() {
    let started = Instant::now();
    let gateway = Pushgateway::start();
    let otel = ScrapeTarget::start(collector_exposition(&otel_round(1)));
    let prom = Prometheus::start(&[gateway.address(), otel.addr.clone()]);

    let env = Env::with_config(&hookmeter_config(&gateway.url(), &plugin_wasm("hostile")));
    let tmp = tempfile::tempdir().unwrap();
    let alpha: PathBuf = fake_repo(tmp.path(), "alpha", "main");
    let beta: PathBuf = fake_repo(tmp.path(), "beta", "feature/x");

    // Round 1.
    wait_for_sum(
        &prom,
        "sum(claude_code_session_count_total)",
        1.0,
        "the collector-shaped target, round 1",
    );
    let mut events = hook_round(&env, &alpha, &beta, 1);
    flush(&env);
    wait_for_sum(
        &prom,
        r#"sum(exercise_reps_total{job="hookmeter", instance="e2e-host"})"#,
        REPS_PER_ROUND,
        "round 1's push",
    );

    // Round 2: every counter grows.
    events += hook_round(&env, &alpha, &beta, 2);
    flush(&env);
    otel.set(collector_exposition(&otel_round(2)));
    wait_for_sum(
        &prom,
        r#"sum(exercise_reps_total{job="hookmeter"})"#,
        2.0 * REPS_PER_ROUND,
        "round 2's push",
    );
    wait_for_sum(
        &prom,
        "sum(claude_code_session_count_total)",
        2.0,
        "the collector-shaped target, round 2",
    );
    assert_eq!(events, 2 * EVENTS_PER_ROUND);

    // The pushed totals are what the runs did, exactly.
    let exact = [
        (
            r#"sum(hookmeter_events_total{job="hookmeter"})"#,
            events as f64,
        ),
        (
            r#"sum(hookmeter_plugin_errors_total{plugin="hostile"})"#,
            events as f64,
        ),
        (
            r#"sum(claude_project_session_total{project="alpha", branch="main"})"#,
            2.0,
        ),
        (
            r#"sum(claude_project_prompts_total{project="beta", branch="feature/x"})"#,
            4.0,
        ),
        (
            r#"sum(exercise_reps_total{exercise="squats", mode="manual"})"#,
            20.0,
        ),
        (
            r#"sum(exercise_reps_total{exercise="pushups", mode="break"})"#,
            24.0,
        ),
        (
            r#"sum(exercise_reps_total{exercise="pushups", mode="manual"})"#,
            10.0,
        ),
        (
            r#"sum(exercise_duration_seconds_total{exercise="pushups"})"#,
            80.0,
        ),
        (
            r#"sum(exercise_prompts_total{exercise="squats", mode="quick"})"#,
            2.0,
        ),
        (
            r#"sum(exercise_prompts_total{exercise="pushups", mode="quick"})"#,
            2.0,
        ),
        (r#"sum(claude_project_active{project="beta"})"#, 0.0),
    ];
    for (q, want) in exact {
        assert_eq!(sum_of(&prom, q), want, "{q}");
    }

    // Every dashboard expression, and every variable's query, as Grafana would send them.
    let dash = dashboard();
    let defined = variable_names(&dash);
    let mut queries: Vec<(String, String, Vec<String>)> = all_targets(&dash)
        .into_iter()
        .map(|(panel, target)| {
            let expr = target["expr"].as_str().unwrap();
            (
                panel_name(panel),
                substitute(expr, &defined),
                shown_labels(target),
            )
        })
        .collect();
    for v in variables(&dash) {
        let (selector, label) = v
            .query
            .trim()
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|i| i.rsplit_once(','))
            .unwrap_or_else(|| {
                panic!(
                    "variable {}: expected label_values(<selector>, <label>), got {}",
                    v.name, v.query
                )
            });
        let label = label.trim().to_owned();
        let q = format!(
            "group by ({label}) ({})",
            substitute(selector.trim(), &defined)
        );
        queries.push((format!("variable {}", v.name), q, vec![label]));
    }
    assert!(queries.len() >= 40, "only {} queries", queries.len());

    // increase()/rate() need the round-2 samples in; give slow scrapes a bounded wait before
    // judging.
    let deadline = Instant::now() + SCRAPE_WAIT;
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    loop {
        failures.clear();
        for (panel, q, shown) in &queries {
            if let Err(why) = judge(panel, &prom.query(q), shown) {
                failures.insert(format!("{panel}\n    {q}"), why);
            }
        }
        if failures.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries return no data:\n{}\nPrometheus log:\n{}",
        failures.len(),
        queries.len(),
        failures
            .iter()
            .map(|(q, why)| format!("{q}\n    → {why}"))
            .collect::<Vec<_>>()
            .join("\n"),
        prom.log()
    );

    // A few panels, exactly: two Claude Code sessions; the push happened just now.
    let sessions = prom.query(
        "count(count by (session_id) (last_over_time(claude_code_session_count_total[1d])))",
    );
    assert_eq!(sessions[0].1, 2.0);
    let age = prom.query(r#"time() - push_time_seconds{job="hookmeter"}"#);
    assert!(
        age.len() == 1 && (0.0..120.0).contains(&age[0].1),
        "push age {age:?}"
    );
    eprintln!(
        "{} dashboard queries return data; {} hook runs; {:?} in all",
        queries.len(),
        events,
        started.elapsed()
    );
}
