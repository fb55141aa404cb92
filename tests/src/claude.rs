//! The real Claude Code CLI (`tests/claude/`, pinned in its package.json) run offline against
//! the scripted Messages API stand-in (`tests/fake-anthropic/server.py`), for end-to-end tests.
//!
//! [`FakeApi`] is the stand-in (killed on drop); [`Claude`] is a throw-away HOME plus the
//! environment the CLI runs in; [`Claude::session`] drives one `-p` stream-json session
//! through several prompts and returns every line the CLI printed as a [`Transcript`].
//! Quirks of the CLI are in tests/claude/README.md.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one turn (a prompt until its `result` line) may take.
const TURN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the CLI may take to exit once its stdin is closed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The version `tests/claude/package.json` pins.
pub fn pinned_version() -> String {
    let path = crate::root().join("tests/claude/package.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).unwrap();
    json["dependencies"]["@anthropic-ai/claude-code"]
        .as_str()
        .expect("the claude-code pin in package.json")
        .to_owned()
}

/// The native `claude` binary installed by `npm ci --prefix tests/claude`, checked to be the
/// pinned version. Panics (never skips) when it is missing, saying how to install it.
pub fn claude_bin() -> PathBuf {
    let dir = crate::root().join("tests/claude/node_modules");
    // `.bin/claude` is the native binary after the package's postinstall; with
    // --ignore-scripts it is a small stub, and the platform package holds the binary.
    let candidates = [
        dir.join(".bin/claude"),
        dir.join("@anthropic-ai/claude-code-linux-x64/claude"),
    ];
    let bin = candidates
        .iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 1_000_000))
        .unwrap_or_else(|| {
            panic!(
                "the Claude Code CLI is not installed (looked for {}): run `npm ci --prefix tests/claude` \
                 (once; it pins @anthropic-ai/claude-code {})",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                pinned_version()
            )
        })
        .clone();
    let out = Command::new(&bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let pinned = pinned_version();
    assert!(
        version.starts_with(&format!("{pinned} ")),
        "{} is Claude Code {version:?}, but tests/claude/package.json pins {pinned}: run `npm ci --prefix tests/claude`",
        bin.display()
    );
    bin
}

/// The scripted Messages API stand-in, on a free loopback port; killed on drop.
pub struct FakeApi {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl FakeApi {
    /// Start it with a script (a JSON list of rules, see tests/fake-anthropic/README.md);
    /// `None` uses its default: a Bash `echo hookmeter-fixture` for every prompt, then
    /// the text `The command printed hookmeter-fixture.`
    pub fn start(script: Option<&Value>) -> FakeApi {
        let dir = tempfile::tempdir().unwrap();
        let server = crate::root().join("tests/fake-anthropic/server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&server)
            .args(["--port", "0", "--log"])
            .arg(dir.path().join("requests.jsonl"));
        if let Some(script) = script {
            let path = dir.path().join("script.json");
            std::fs::write(&path, serde_json::to_vec_pretty(script).unwrap()).unwrap();
            cmd.arg("--script").arg(path);
        }
        let stderr = std::fs::File::create(dir.path().join("server.err")).unwrap();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {}: {e}", server.display()));
        // The first stdout line is `LISTENING <port>`; read it on a thread so a server that
        // never prints cannot hang the test.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok());
        let mut api = FakeApi {
            child,
            port: 0,
            dir,
        };
        match port {
            Some(port) => api.port = port,
            None => panic!(
                "{} did not print `LISTENING <port>` (got {line:?}); stderr:\n{}",
                server.display(),
                std::fs::read_to_string(api.dir.path().join("server.err")).unwrap_or_default()
            ),
        }
        api
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The raw request log: one JSON line per request the CLI made.
    pub fn request_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default()
    }

    /// The logged requests, parsed.
    pub fn requests(&self) -> Vec<Value> {
        self.request_log()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throw-away HOME for the CLI, and the environment it (and so every hook it runs) gets.
pub struct Claude {
    pub bin: PathBuf,
    pub home: tempfile::TempDir,
    api_url: String,
    env: Vec<(String, String)>,
}

impl Claude {
    /// A fresh HOME talking to `api`.
    pub fn new(api: &FakeApi) -> Claude {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".claude")).unwrap();
        Claude {
            bin: claude_bin(),
            home,
            api_url: api.url(),
            env: Vec::new(),
        }
    }

    /// Add a variable to the CLI's environment (hooks inherit it).
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.env.push((
            key.to_owned(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    /// `$HOME/.claude/settings.json`, the user-scope settings.
    pub fn settings_path(&self) -> PathBuf {
        self.home.path().join(".claude/settings.json")
    }

    /// The CLI's command: a clean environment (no real ANTHROPIC_* / CLAUDE* variables, no
    /// network but the stand-in), the temp HOME, `-p` stream-json in and out.
    fn command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", self.home.path())
        .env("SHELL", "/bin/bash")
        .env("LANG", "C.UTF-8")
        .env("TMPDIR", std::env::temp_dir())
        .env("ANTHROPIC_BASE_URL", &self.api_url)
        .env("ANTHROPIC_API_KEY", "sk-ant-fake-key-for-tests")
        // Lets --dangerously-skip-permissions run as root (CI containers).
        .env("IS_SANDBOX", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_ERROR_REPORTING", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// One session in `cwd`: each prompt is sent after the previous turn's `result` line,
    /// then stdin is closed, which ends the session (SessionEnd). Panics with the transcript
    /// so far if a turn or the exit takes too long.
    pub fn session(&self, cwd: &Path, prompts: &[&str]) -> Transcript {
        let stderr_path = self
            .home
            .path()
            .join(format!("claude-stderr-{}.txt", unique()));
        let mut child = self
            .command(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdin = child.stdin.take();
        let mut lines: Vec<Value> = Vec::new();
        let mut guard = KillOnDrop(Some(child));
        let fail = |what: &str, lines: &[Value]| -> ! {
            let shown: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            panic!(
                "claude session in {}: {what}\n--- stdout so far:\n{}\n--- stderr:\n{}",
                cwd.display(),
                shown.join("\n"),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            )
        };
        for prompt in prompts {
            let message = json!({"type": "user", "message": {"role": "user", "content": prompt}});
            let pipe = stdin.as_mut().unwrap();
            if writeln!(pipe, "{message}")
                .and_then(|_| pipe.flush())
                .is_err()
            {
                fail(
                    &format!("the CLI closed its stdin before prompt {prompt:?}"),
                    &lines,
                );
            }
            let deadline = Instant::now() + TURN_TIMEOUT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => {
                        let value: Value = serde_json::from_str(&line)
                            .unwrap_or_else(|_| json!({"type": "unparsed", "text": line}));
                        let done = value["type"] == "result";
                        lines.push(value);
                        if done {
                            break;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => fail(
                        &format!("no result for prompt {prompt:?} within {TURN_TIMEOUT:?}"),
                        &lines,
                    ),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        fail(&format!("the CLI exited during prompt {prompt:?}"), &lines)
                    }
                }
            }
        }
        drop(stdin.take()); // end of input: the session ends
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|_| json!({"type": "unparsed", "text": line})),
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    fail("the CLI did not exit after its stdin was closed", &lines)
                }
            }
        }
        let _ = reader.join();
        let mut child = guard.0.take().unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                fail("the CLI closed its stdout but did not exit", &lines);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        Transcript {
            lines,
            stderr,
            success: status.success(),
        }
    }
}

/// Kills the CLI if the test panics mid-session.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Everything one session printed (stream-json lines), in order.
#[derive(Debug)]
pub struct Transcript {
    pub lines: Vec<Value>,
    pub stderr: String,
    /// The CLI exited with status 0.
    pub success: bool,
}

impl Transcript {
    /// The lines of each turn: everything up to and including its `result` line.
    pub fn turns(&self) -> Vec<&[Value]> {
        let mut turns = Vec::new();
        let mut start = 0;
        for (i, line) in self.lines.iter().enumerate() {
            if line["type"] == "result" {
                turns.push(&self.lines[start..=i]);
                start = i + 1;
            }
        }
        turns
    }

    /// The `result` lines, one per turn.
    pub fn results(&self) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["type"] == "result")
            .collect()
    }

    /// What the CLI shows the user besides the model's answer: hook `systemMessage`s and
    /// block reasons (`{"type":"system","subtype":"informational","content":...}`).
    pub fn notices(turn: &[Value]) -> Vec<String> {
        turn.iter()
            .filter(|l| l["type"] == "system" && l["subtype"] == "informational")
            .filter_map(|l| l["content"].as_str().map(str::to_owned))
            .collect()
    }

    /// The model's text answers in a turn.
    pub fn texts(turn: &[Value]) -> Vec<String> {
        Self::content_blocks(turn, "text", "text")
    }

    /// The names of the tools the model called in a turn.
    pub fn tool_calls(turn: &[Value]) -> Vec<String> {
        Self::content_blocks(turn, "tool_use", "name")
    }

    /// `field` of every `kind` content block of the model's messages in a turn.
    fn content_blocks(turn: &[Value], kind: &str, field: &str) -> Vec<String> {
        turn.iter()
            .filter(|l| l["type"] == "assistant")
            .filter_map(|l| l["message"]["content"].as_array())
            .flatten()
            .filter(|b| b["type"] == kind)
            .filter_map(|b| b[field].as_str().map(str::to_owned))
            .collect()
    }

    /// The whole transcript, for failure messages.
    pub fn dump(&self) -> String {
        let lines: Vec<String> = self.lines.iter().map(|l| l.to_string()).collect();
        format!("{}\n--- stderr:\n{}", lines.join("\n"), self.stderr)
    }
}

/// A real git repository `name` under `parent`, with one commit, on `branch`.
pub fn git_repo(parent: &Path, name: &str, branch: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", parent)
            .env("GIT_AUTHOR_NAME", "e2e")
            .env("GIT_AUTHOR_EMAIL", "e2e@example.invalid")
            .env("GIT_COMMITTER_NAME", "e2e")
            .env("GIT_COMMITTER_EMAIL", "e2e@example.invalid")
            .output()
            .unwrap_or_else(|e| panic!("cannot run git (apt-get install git): {e}"));
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", branch]);
    std::fs::write(dir.join("README.md"), format!("# {name}\n")).unwrap();
    git(&["add", "README.md"]);
    git(&["commit", "-q", "-m", "init"]);
    dir
}
