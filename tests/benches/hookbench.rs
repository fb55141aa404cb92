//! Benchmark of the whole `hookmeter run` process per event type, compile cache warm, both
//! bundled plugins subscribed, beside two baselines measured in the same run: a do-nothing
//! native process (`/bin/true`) and a minimal Python hook doing the same counting
//! (`bench/python_hook.py`). Reports median / p90 wall time and peak RSS (from `wait4`).
//!
//! `cargo build --release -p hookmeter && cargo bench -p hookmeter-e2e --bench hookbench -- [RUNS]`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use hookmeter_e2e::{fake_repo, root};

struct Sample {
    /// Wall time per run, sorted.
    micros: Vec<u128>,
    /// User + system CPU time per run, sorted: steadier than wall time on a busy machine.
    cpu_micros: Vec<u128>,
    max_rss_kib: i64,
}

/// Spawn `cmd` with `stdin`, wait with `wait4` to get its CPU time and peak RSS.
fn measure(cmd: &mut Command, stdin: &[u8]) -> (u128, u128, i64) {
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn");
    // `/bin/true` never reads its stdin: a broken pipe is expected there.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's; status and usage point to live locals.
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let micros = started.elapsed().as_micros();
    assert_eq!(rc, child.id() as i32, "wait4 failed");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed with {status}");
    let tv = |t: libc::timeval| t.tv_sec as u128 * 1_000_000 + t.tv_usec as u128;
    (micros, tv(usage.ru_utime) + tv(usage.ru_stime), usage.ru_maxrss)
}

fn bench(runs: usize, stdin: &[u8], mut make: impl FnMut() -> Command) -> Sample {
    for _ in 0..3 {
        measure(&mut make(), stdin);
    }
    let mut micros = Vec::with_capacity(runs);
    let mut cpu_micros = Vec::with_capacity(runs);
    let mut max_rss_kib = 0;
    for _ in 0..runs {
        let (t, cpu, rss) = measure(&mut make(), stdin);
        micros.push(t);
        cpu_micros.push(cpu);
        max_rss_kib = max_rss_kib.max(rss);
    }
    micros.sort_unstable();
    cpu_micros.sort_unstable();
    Sample { micros, cpu_micros, max_rss_kib }
}

/// The `p` quantile of sorted microseconds, in milliseconds.
fn quantile(sorted: &[u128], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize] as f64 / 1000.0
}

fn pct(s: &Sample, p: f64) -> f64 {
    quantile(&s.micros, p)
}

fn cpu_median(s: &Sample) -> f64 {
    quantile(&s.cpu_micros, 0.5)
}

fn main() {
    // `cargo bench` adds `--bench` to the arguments; the first number is the run count.
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200);
    let bin: PathBuf = root().join("target/release/hookmeter");
    assert!(bin.exists(), "build it first: cargo build --release -p hookmeter");
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "bench-project", "main");
    let state = tmp.path().join("state");
    let py_state = tmp.path().join("py-state");
    std::fs::create_dir_all(&py_state).unwrap();
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let fixtures = root().join("tests/fixtures/claude-code");
    let payload = |name: &str| -> Vec<u8> {
        let file = std::fs::read_dir(&fixtures)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(&format!("-{name}.json")))
            .min()
            .unwrap_or_else(|| panic!("no fixture for {name}"));
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        v["cwd"] = serde_json::Value::String(repo.display().to_string());
        serde_json::to_vec(&v).unwrap()
    };
    let hookmeter = |state: &Path| {
        let mut c = Command::new(&bin);
        c.arg("run").env("HOOKMETER_CONFIG", &config).env("HOOKMETER_STATE_DIR", state).env_remove("PUSHGATEWAY_URL");
        c
    };
    // Warm the compile cache once.
    measure(&mut hookmeter(&state), &payload("SessionStart"));
    println!("hookmeter run vs baselines, {runs} runs each; wall and CPU (user+sys) times in ms, peak RSS in MiB");
    println!("| event | hookmeter wall median | p90 | CPU median | peak RSS | /bin/true wall | python wall median | python CPU median | python peak RSS | python ÷ hookmeter (wall) | (CPU) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut worst_ratio = f64::MAX;
    let mut worst_cpu_ratio = f64::MAX;
    for event in ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"] {
        let input = payload(event);
        let h = bench(runs, &input, || hookmeter(&state));
        let t = bench(runs, &input, || Command::new("/bin/true"));
        let p = bench(runs, &input, || {
            let mut c = Command::new("python3");
            c.arg(root().join("bench/python_hook.py")).env("BASELINE_STATE_DIR", &py_state);
            c
        });
        let ratio = pct(&p, 0.5) / pct(&h, 0.5);
        let cpu_ratio = cpu_median(&p) / cpu_median(&h).max(0.001);
        worst_ratio = worst_ratio.min(ratio);
        worst_cpu_ratio = worst_cpu_ratio.min(cpu_ratio);
        println!(
            "| {event} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1}× | {:.1}× |",
            pct(&h, 0.5),
            pct(&h, 0.9),
            cpu_median(&h),
            h.max_rss_kib as f64 / 1024.0,
            pct(&t, 0.5),
            pct(&p, 0.5),
            cpu_median(&p),
            p.max_rss_kib as f64 / 1024.0,
            ratio,
            cpu_ratio
        );
    }
    let mut load = String::new();
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        load = l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    }
    println!(
        "\nworst python ÷ hookmeter median: {worst_ratio:.1}× wall, {worst_cpu_ratio:.1}× CPU; {} cores, load average {load}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
}
