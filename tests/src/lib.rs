//! Helpers for the end-to-end tests: the real `hookmeter` binary, state dirs, test plugins.
//! Servers (Pushgateway, Prometheus, the Messages API stand-in) are in their own modules.

pub mod claude;
pub mod dashboard;
pub mod servers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `hookmeter` binary cargo built for this test run (`target/<profile>/hookmeter`).
pub fn hookmeter_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test-binary>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir.join("hookmeter");
    assert!(bin.exists(), "{} is missing: run the tests with `cargo test` from the workspace root", bin.display());
    bin
}

/// A compiled plugin component: a bundled one (`project_sessions`) or a test plugin
/// (`plugins/testing/*`, e.g. `hostile`), built by this crate's build script.
pub fn plugin_wasm(name: &str) -> PathBuf {
    let path = Path::new(env!("HOOKMETER_TEST_PLUGIN_DIR")).join(format!("{}.wasm", name.replace('-', "_")));
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A temporary state dir and config for one test; `hookmeter` runs in it via [`Env::cmd`].
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: String,
}

impl Env {
    /// A fresh state dir with an empty config (bundled plugins only, no push).
    pub fn new() -> Env {
        Env::with_config("")
    }

    pub fn with_config(config: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { dir, config: String::new() };
        env.set_config(config);
        Env { config: config.to_owned(), ..env }
    }

    pub fn set_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// `hookmeter ARGS` with this env's config and state dir, and no inherited
    /// hookmeter/pushgateway variables.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(hookmeter_bin());
        cmd.args(args)
            .env("HOOKMETER_CONFIG", self.config_path())
            .env("HOOKMETER_STATE_DIR", self.state_dir())
            .env_remove("PUSHGATEWAY_URL")
            .env_remove("PUSHGATEWAY_BEARER_TOKEN")
            .env_remove("HOOKMETER_INSTANCE")
            .stdin(Stdio::null());
        cmd
    }

    /// `hookmeter run` with `stdin` as the event.
    pub fn run_hook(&self, stdin: &[u8]) -> Output {
        run_with_stdin(self.cmd(&["run"]), stdin)
    }

    /// `hookmeter metrics`, parsed into (series text → value), e.g.
    /// `claude_project_session_total{branch="main",project="p"}` → 3.
    pub fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let out = self.cmd(&["metrics", "--all"]).output().unwrap();
        assert!(out.status.success(), "hookmeter metrics failed: {}", String::from_utf8_lossy(&out.stderr));
        parse_exposition(&String::from_utf8_lossy(&out.stdout))
    }

    /// The value of one series, 0 when absent.
    pub fn value(&self, series: &str) -> f64 {
        self.metrics().get(series).copied().unwrap_or(0.0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("hookmeter.log")).unwrap_or_default()
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Write from a thread: a process that exits early must not deadlock the test.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    out
}

/// Parse Prometheus text format into (series → value); comments skipped.
pub fn parse_exposition(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// A hook payload with the common fields filled in.
pub fn event(name: &str, session: &str, cwd: &Path, extra: serde_json::Value) -> Vec<u8> {
    let mut v = serde_json::json!({
        "hook_event_name": name,
        "session_id": session,
        "cwd": cwd,
        "transcript_path": "/dev/null",
    });
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in more {
            obj.insert(k.clone(), val.clone());
        }
    }
    serde_json::to_vec(&v).unwrap()
}

/// A directory that looks like a git repository named `name` on `branch`.
pub fn fake_repo(parent: &Path, name: &str, branch: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), format!("ref: refs/heads/{branch}\n")).unwrap();
    std::fs::write(dir.join(".git/config"), "[core]\n\tbare = false\n").unwrap();
    dir
}

/// A free TCP port on 127.0.0.1 (racy by nature; servers are started right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
