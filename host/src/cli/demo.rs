//! `hookmeter demo`: replay a real recorded Claude Code session through the bundled plugins
//! into a local store, showing each hook run, Claude Code's answers, and the totals. Needs no
//! Pushgateway, no Docker and no Claude Code.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;

/// The session recorded from the real Claude Code CLI (tests/fixtures/claude-code).
const SESSION: &str = include_str!("../../../tests/fixtures/claude-code/session.jsonl");

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Keep the store in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<std::path::PathBuf>,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let state_dir = args.keep.clone().unwrap_or_else(|| tmp.path().join("state"));
    // The recording's working tree is gone; replay it in a repository of the same shape.
    let repo = tmp.path().join("hookmeter-demo");
    std::fs::create_dir_all(repo.join(".git")).context("creating the demo repository")?;
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature/fixtures\n")?;
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "")?;
    let exe = std::env::current_exe().context("locating the hookmeter binary")?;

    println!("Replaying a recorded Claude Code session ({} hook events) through `hookmeter run`.", SESSION.lines().count());
    println!("State: {}\n", state_dir.display());
    let mut slowest = 0u128;
    let mut times = Vec::new();
    for (i, line) in SESSION.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let mut payload: serde_json::Value = serde_json::from_str(line).context("a recorded payload is not JSON")?;
        payload["cwd"] = serde_json::Value::String(repo.display().to_string());
        let name = payload["hook_event_name"].as_str().unwrap_or("?").to_owned();
        let started = Instant::now();
        let out = run_hook(&exe, &config, &state_dir, &payload.to_string())?;
        let micros = started.elapsed().as_micros();
        slowest = slowest.max(micros);
        times.push(micros);
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let status = if out.status.success() { "ok".to_string() } else { format!("exit {}", out.status.code().unwrap_or(-1)) };
        println!("{:>3}  {:<20} {:>6.1} ms  {status}", i + 1, name, micros as f64 / 1000.0);
        if !answer.is_empty() {
            println!("       answer to Claude Code: {answer}");
        }
        if !out.stderr.is_empty() {
            println!("       stderr: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or(0);
    println!(
        "\n{} runs: median {:.1} ms, slowest {:.1} ms (the first run compiles the plugins into the cache).",
        times.len(),
        median as f64 / 1000.0,
        slowest as f64 / 1000.0
    );
    println!("\nTotals in the local store (`hookmeter metrics`):\n");
    let out = Command::new(&exe)
        .args(["metrics"])
        .env("HOOKMETER_CONFIG", &config)
        .env("HOOKMETER_STATE_DIR", &state_dir)
        .output()
        .context("running hookmeter metrics")?;
    std::io::stdout().write_all(&out.stdout)?;
    anyhow::ensure!(out.status.success(), "hookmeter metrics failed: {}", String::from_utf8_lossy(&out.stderr));
    if args.keep.is_none() {
        println!("\n(Use `hookmeter demo --keep DIR` to keep the store and look at it with `hookmeter --state-dir DIR metrics`.)");
    }
    Ok(())
}

fn run_hook(exe: &Path, config: &Path, state_dir: &Path, payload: &str) -> anyhow::Result<std::process::Output> {
    let mut child = Command::new(exe)
        .arg("run")
        .env("HOOKMETER_CONFIG", config)
        .env("HOOKMETER_STATE_DIR", state_dir)
        .env_remove("PUSHGATEWAY_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting hookmeter run")?;
    child.stdin.take().expect("piped stdin").write_all(payload.as_bytes())?;
    Ok(child.wait_with_output()?)
}
