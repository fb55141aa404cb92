//! `hookmeter install`, `uninstall` and `doctor` as a user runs them: the real binary on real
//! files in a temporary HOME, the installed command run through bash as Claude Code runs it,
//! and `doctor` against a real Pushgateway.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hookmeter_e2e::servers::Pushgateway;
use hookmeter_e2e::{Env, event, hookmeter_bin, plugin_wasm, run_with_stdin};
use serde_json::{Value, json};

/// A temporary HOME and working directory for one test, with hookmeter's own env.
struct Home {
    env: Env,
    home: tempfile::TempDir,
    cwd: PathBuf,
}

impl Home {
    fn new() -> Home {
        Home::with_config("")
    }

    fn with_config(config: &str) -> Home {
        let home = tempfile::tempdir().unwrap();
        let cwd = home.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        Home {
            env: Env::with_config(config),
            home,
            cwd,
        }
    }

    fn settings(&self) -> PathBuf {
        self.home.path().join(".claude/settings.json")
    }

    /// `hookmeter ARGS` with this HOME, run in `cwd`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.env.cmd(args);
        cmd.env("HOME", self.home.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .current_dir(&self.cwd);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hookmeter {args:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn backups(settings: &Path) -> Vec<PathBuf> {
    let name = settings.file_name().unwrap().to_string_lossy().into_owned();
    let mut found: Vec<PathBuf> = std::fs::read_dir(settings.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.bak-"))
        })
        .collect();
    found.sort();
    found
}

/// The hookmeter handler of `event`'s entries (asserting there is exactly one).
fn our_handler(settings: &Value, event: &str) -> Value {
    let ours: Vec<Value> = settings["hooks"][event]
        .as_array()
        .unwrap_or_else(|| panic!("no {event} entries in {settings:#}"))
        .iter()
        .flat_map(|g| g["hooks"].as_array().unwrap().clone())
        .filter(|h| {
            h["command"]
                .as_str()
                .is_some_and(|c| c.ends_with("hookmeter run") || c.ends_with("hookmeter' run"))
        })
        .collect();
    assert_eq!(ours.len(), 1, "{event}: {settings:#}");
    ours[0].clone()
}

/// What Claude Code writes: two-space JSON, a final newline.
const ORIGINAL: &str = r#"{
  "model": "opus",
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ]
  },
  "permissions": {
    "allow": [
      "Bash(ls:*)"
    ]
  }
}
"#;

#[test]
fn install_merges_keeps_a_backup_is_idempotent_and_uninstall_restores() {
    let h = Home::new();
    std::fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    std::fs::write(h.settings(), ORIGINAL).unwrap();

    let out = h.ok(&["install"]);
    for line in [
        "added    SessionStart (async)",
        "added    SessionEnd (async)",
        "added    PostToolUse (async)",
        "added    UserPromptSubmit (sync: a plugin can answer it)",
        "added    Stop (sync: a plugin can answer it)",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // ExerciseCompleted is the exercise plugin's own event: Claude Code never sends it.
    assert!(
        out.contains("not registered") && out.contains("ExerciseCompleted"),
        "{out}"
    );

    let settings = read_json(&h.settings());
    let keys: Vec<&String> = settings.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "hooks", "permissions"], "key order kept");
    assert_eq!(settings["permissions"], json!({"allow": ["Bash(ls:*)"]}));
    assert!(settings["hooks"].get("ExerciseCompleted").is_none());
    assert_eq!(
        settings["hooks"]["Stop"][0],
        json!({"hooks": [{"type": "command", "command": "notify-send done"}]})
    );
    let bin = hookmeter_bin().canonicalize().unwrap();
    let command = format!("{} run", bin.display());
    assert_eq!(
        our_handler(&settings, "SessionStart"),
        json!({"type": "command", "command": command, "async": true, "timeout": 10})
    );
    assert_eq!(
        our_handler(&settings, "Stop"),
        json!({"type": "command", "command": command, "timeout": 10})
    );
    assert_eq!(
        our_handler(&settings, "UserPromptSubmit")["async"],
        Value::Null
    );
    assert_eq!(our_handler(&settings, "PostToolUse")["async"], true);

    let first_backups = backups(&h.settings());
    assert_eq!(first_backups.len(), 1, "{first_backups:?}");
    assert!(
        out.contains(&format!("backup: {}", first_backups[0].display())),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&first_backups[0]).unwrap(),
        ORIGINAL
    );

    // Twice: nothing changes, no new backup.
    let installed = std::fs::read_to_string(h.settings()).unwrap();
    let again = h.ok(&["install"]);
    assert!(again.contains("nothing to change"), "{again}");
    assert_eq!(std::fs::read_to_string(h.settings()).unwrap(), installed);
    assert_eq!(backups(&h.settings()).len(), 1);

    let out = h.ok(&["uninstall"]);
    assert!(
        out.contains("removed  SessionStart") && out.contains("removed  Stop"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(h.settings()).unwrap(),
        ORIGINAL,
        "uninstall removes exactly what install added"
    );
    let out = h.ok(&["uninstall"]);
    assert!(out.contains("nothing to change"), "{out}");
}

#[test]
fn the_installed_command_runs_through_bash_even_from_an_odd_path() {
    // A copy of the binary where a shell would split or choke on the path.
    let h = Home::new();
    let odd_dir = h.home.path().join("my tools/o'neil $HOME");
    std::fs::create_dir_all(&odd_dir).unwrap();
    let odd_bin = odd_dir.join("hookmeter");
    std::fs::copy(hookmeter_bin(), &odd_bin).unwrap();
    let install = Command::new(&odd_bin)
        .arg("install")
        .env("HOOKMETER_CONFIG", h.env.config_path())
        .env("HOOKMETER_STATE_DIR", h.env.state_dir())
        .env("HOME", h.home.path())
        .env_remove("CLAUDE_CONFIG_DIR")
        .current_dir(&h.cwd)
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install.stderr));

    let command = our_handler(&read_json(&h.settings()), "UserPromptSubmit")["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(command.starts_with('\''), "the path is quoted: {command}");
    // Claude Code runs `command` with bash, the event on stdin.
    let repo = hookmeter_e2e::fake_repo(h.home.path(), "quoted-repo", "main");
    let mut bash = Command::new("bash");
    bash.args(["-c", &command])
        .env("HOOKMETER_CONFIG", h.env.config_path())
        .env("HOOKMETER_STATE_DIR", h.env.state_dir())
        .env_remove("PUSHGATEWAY_URL");
    let out = run_with_stdin(
        bash,
        &event("UserPromptSubmit", "s1", &repo, json!({"prompt": "hello"})),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        h.env
            .value(r#"claude_project_prompts_total{branch="main",project="quoted-repo"}"#),
        1.0
    );
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let h = Home::new();
    std::fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    std::fs::write(h.settings(), ORIGINAL).unwrap();
    let out = h.ok(&["install", "--dry-run"]);
    let path = h.settings().display().to_string();
    assert!(
        out.contains(&format!("--- {path}\n+++ {path}\n@@ ")),
        "{out}"
    );
    assert!(out.contains("+    \"SessionStart\": ["), "{out}");
    assert!(out.contains("+            \"async\": true,"), "{out}");
    assert!(
        out.contains("added    SessionStart (async)")
            && out.contains("dry run: nothing was written"),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "nothing removed:\n{out}"
    );
    assert_eq!(std::fs::read_to_string(h.settings()).unwrap(), ORIGINAL);
    assert!(backups(&h.settings()).is_empty());

    // No file yet: a dry run does not create it.
    let fresh = Home::new();
    let out = fresh.ok(&["install", "--dry-run"]);
    assert!(out.contains("--- /dev/null"), "{out}");
    assert!(!fresh.settings().exists() && !fresh.settings().parent().unwrap().exists());
}

#[test]
fn a_settings_file_that_is_not_json_is_reported_and_left_alone() {
    let h = Home::new();
    std::fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    let broken = "{\n  \"hooks\": {\n    \"Stop\": [,]\n  }\n}\n";
    std::fs::write(h.settings(), broken).unwrap();
    for args in [&["install"][..], &["uninstall"], &["install", "--dry-run"]] {
        let out = h.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        let path = h.settings().display().to_string();
        assert!(
            err.contains(&format!("{path}:3:14: line 3, column 14: not valid JSON")),
            "{args:?}: {err}"
        );
        assert!(err.contains("left untouched"), "{err}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        assert_eq!(std::fs::read_to_string(h.settings()).unwrap(), broken);
        assert!(backups(&h.settings()).is_empty());
    }
    // Valid JSON of the wrong shape is refused too.
    std::fs::write(h.settings(), "{\"hooks\": []}").unwrap();
    let out = h.run(&["install"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("\"hooks\" is not a JSON object"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(h.settings()).unwrap(),
        "{\"hooks\": []}"
    );
}

#[test]
fn scopes_pick_the_right_file() {
    let h = Home::new();
    // Project and local scope: the git work tree's top, seen from a subdirectory.
    let repo = hookmeter_e2e::fake_repo(h.home.path(), "proj", "main");
    let sub = repo.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let in_sub = |args: &[&str]| {
        let out = h.cmd(args).current_dir(&sub).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let out = in_sub(&["install", "--scope", "project"]);
    assert!(repo.join(".claude/settings.json").is_file(), "{out}");
    assert!(
        out.contains("--scope local"),
        "a note about sharing the project file: {out}"
    );
    let out = in_sub(&["install", "--scope", "local"]);
    assert!(repo.join(".claude/settings.local.json").is_file(), "{out}");
    // Two scopes both running hookmeter count everything twice: install says so.
    let out = h
        .cmd(&["install", "--scope", "local"])
        .current_dir(&sub)
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("counted twice"),
        "{}",
        text(&out.stderr)
    );
    assert!(!h.settings().exists());

    // User scope: $HOME/.claude, or $CLAUDE_CONFIG_DIR when set.
    h.ok(&["install"]);
    assert!(h.settings().is_file());
    let config_dir = h.home.path().join("claude-config");
    let out = h
        .cmd(&["install"])
        .env("CLAUDE_CONFIG_DIR", &config_dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(config_dir.join("settings.json").is_file());

    // --settings and --scope exclude each other.
    let out = h.run(&["install", "--scope", "local", "--settings", "/tmp/x.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_symlinked_settings_file_stays_a_symlink() {
    let h = Home::new();
    let real = h.home.path().join("dotfiles/claude-settings.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    std::fs::write(&real, "{}").unwrap();
    std::os::unix::fs::symlink(&real, h.settings()).unwrap();
    h.ok(&["install"]);
    assert!(
        std::fs::symlink_metadata(h.settings())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read_json(&real)["hooks"]["SessionStart"].is_array());
}

#[test]
fn plugins_decide_the_events_modes_and_the_hooks_own_options() {
    // A plugin on every event (hostile subscribes to "*") adds every Claude Code event but the
    // worktree ones; `--config` given to install is repeated in the hook command.
    let config = format!(
        "[plugins.everything]\npath = {:?}\n",
        plugin_wasm("hostile").display().to_string()
    );
    let h = Home::with_config(&config);
    let config_path = h.env.config_path().display().to_string();
    let out = h.ok(&["--config", &config_path, "install"]);
    let settings = read_json(&h.settings());
    let events: Vec<&String> = settings["hooks"].as_object().unwrap().keys().collect();
    for e in [
        "SessionStart",
        "PreToolUse",
        "PostToolUse",
        "Notification",
        "PreCompact",
        "SubagentStop",
        "SessionEnd",
    ] {
        assert!(
            events.iter().any(|x| *x == e),
            "{e} missing: {events:?}\n{out}"
        );
    }
    assert!(
        !events.iter().any(|e| e.starts_with("Worktree")),
        "{events:?}"
    );
    // Only the exercise plugin answers, on UserPromptSubmit and Stop.
    for (event, group) in settings["hooks"].as_object().unwrap() {
        let handler = &group[0]["hooks"][0];
        let sync = event == "UserPromptSubmit" || event == "Stop";
        assert_eq!(
            handler["async"].as_bool().unwrap_or(false),
            !sync,
            "{event}: {handler}"
        );
        let command = handler["command"].as_str().unwrap();
        assert!(
            command.ends_with(&format!("run --config {config_path}")),
            "{command}"
        );
    }
}

#[test]
fn doctor_says_all_is_well_after_install() {
    let gateway = Pushgateway::start();
    let h = Home::new();
    h.ok(&["install"]);
    // One event through the installed command, so the store exists.
    let command = our_handler(&read_json(&h.settings()), "SessionStart")["command"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bash = Command::new("bash");
    bash.args(["-c", &command])
        .env("HOOKMETER_CONFIG", h.env.config_path())
        .env("HOOKMETER_STATE_DIR", h.env.state_dir());
    let repo = hookmeter_e2e::fake_repo(h.home.path(), "doc-repo", "main");
    let out = run_with_stdin(
        bash,
        &event("SessionStart", "s1", &repo, json!({"source": "startup"})),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = h
        .cmd(&["doctor"])
        .env("PUSHGATEWAY_URL", gateway.url())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    let bin = hookmeter_bin().canonicalize().unwrap();
    for line in [
        format!(
            "✓ user: {} has hookmeter on 5 events (3 async, 2 sync)",
            h.settings().display()
        ),
        format!(
            "✓ {}: hookmeter {}",
            bin.display(),
            env!("CARGO_PKG_VERSION")
        ),
        "✓ project-sessions ".to_owned(),
        "✓ exercise ".to_owned(),
        "integrity ok".to_owned(),
        format!("✓ {} is ready", gateway.url()),
        "All good.".to_owned(),
    ] {
        assert!(report.contains(&line), "missing {line:?} in:\n{report}");
    }
    assert!(!report.contains('✗'), "{report}");
}

#[test]
fn doctor_finds_what_is_wrong_and_says_how_to_fix_it() {
    // Nothing installed.
    let h = Home::new();
    let out = h.run(&["doctor"]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("✗ hookmeter is not in any Claude Code settings file"),
        "{report}"
    );
    assert!(report.contains("fix: run `hookmeter install`"), "{report}");

    // Hand-made entries: a binary that is gone, a sync hook no plugin answers, missing events;
    // a plugin that cannot load; a corrupt store; a gateway that is down, with a password.
    let config = "[plugins.broken]\npath = \"/nonexistent/broken.wasm\"\n";
    let h = Home::with_config(config);
    std::fs::create_dir_all(h.settings().parent().unwrap()).unwrap();
    let settings = json!({"hooks": {
        "SessionStart": [{"hooks": [{"type": "command", "command": "/nonexistent/bin/hookmeter run"}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "/nonexistent/bin/hookmeter run", "async": true}]}],
    }});
    std::fs::write(
        h.settings(),
        serde_json::to_string_pretty(&settings).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(h.env.state_dir()).unwrap();
    std::fs::write(h.env.state_dir().join("hookmeter.db"), vec![0x42u8; 8192]).unwrap();
    let closed = hookmeter_e2e::free_port();
    let out = h
        .cmd(&["doctor"])
        .env(
            "PUSHGATEWAY_URL",
            format!("http://pusher:s3cret-pw@127.0.0.1:{closed}"),
        )
        .output()
        .unwrap();
    let report = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for line in [
        "✗ broken failed to load (load): cannot read /nonexistent/broken.wasm",
        "✗ user: SessionStart: runs synchronously although no plugin answers it",
        "✗ user: Notification: no enabled plugin subscribes to it",
        "✗ user: missing events the plugins subscribe to: SessionEnd, UserPromptSubmit, PostToolUse, Stop",
        "fix: run `hookmeter install --scope user`",
        "✗ /nonexistent/bin/hookmeter does not exist",
        "hookmeter.db",
        &format!("✗ http://127.0.0.1:{closed}: not ready: "),
        "problem(s) found",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }
    assert!(
        report.contains("✗ cannot open the store") || report.contains("integrity check failed"),
        "{report}"
    );
    assert!(
        !report.contains("s3cret-pw"),
        "a secret was printed:\n{report}"
    );
    // doctor looks; it changes nothing.
    assert_eq!(read_json(&h.settings()), settings);
}

#[test]
fn doctor_notices_hookmeter_in_two_settings_files() {
    let h = Home::new();
    h.ok(&["install"]);
    h.ok(&["install", "--scope", "local"]);
    let out = h.run(&["doctor"]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("every event is counted more than once"),
        "{report}"
    );
}
