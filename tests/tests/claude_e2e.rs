//! The whole path with the real Claude Code CLI: `hookmeter install` writes the hooks into a
//! temporary HOME's settings, the pinned CLI (tests/claude) runs sessions in real git
//! repositories against the scripted Messages API stand-in (tool_use turns, so it really runs
//! Bash/Write/Read), every hook runs the real `hookmeter`, and a real Pushgateway receives the
//! totals from the detached flush that Stop/SessionEnd start.
//!
//! Needs `npm ci --prefix tests/claude` (once) and the Debian `prometheus-pushgateway`; no
//! network beyond loopback.

use std::time::{Duration, Instant};

use hookmeter_e2e::claude::{Claude, FakeApi, Transcript, git_repo};
use hookmeter_e2e::servers::Pushgateway;
use hookmeter_e2e::{Env, plugin_wasm};
use serde_json::{Value, json};

/// How long the gateway may take to show the totals after a session ended (the SessionEnd
/// hook is async, then its detached flush pushes).
const GATEWAY_WAIT: Duration = Duration::from_secs(30);

/// A family, the labels its series must have, and the sum of their values.
type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// One test's world: hookmeter's config and state, the stand-in API, a HOME with hookmeter
/// installed, and a gateway group of its own.
struct World {
    env: Env,
    api: FakeApi,
    claude: Claude,
    gateway: Pushgateway,
    instance: String,
    dir: tempfile::TempDir,
}

impl World {
    fn new(name: &str, config: &str, script: Option<Value>) -> World {
        let gateway = Pushgateway::start();
        let env = Env::with_config(config);
        let api = FakeApi::start(script.as_ref());
        let mut claude = Claude::new(&api);
        let instance = format!("e2e-{name}");
        claude
            .env("HOOKMETER_CONFIG", env.config_path())
            .env("HOOKMETER_STATE_DIR", env.state_dir())
            .env("PUSHGATEWAY_URL", gateway.url())
            .env("HOOKMETER_INSTANCE", &instance);
        let world = World {
            env,
            api,
            claude,
            gateway,
            instance,
            dir: tempfile::tempdir().unwrap(),
        };
        world.install();
        world
    }

    /// `hookmeter install --settings $HOME/.claude/settings.json`, as a user would.
    fn install(&self) {
        let settings = self.claude.settings_path();
        let out = self
            .env
            .cmd(&["install", "--settings", settings.to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "hookmeter install failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("added    SessionStart (async)"), "{stdout}");
        assert!(
            stdout.contains("added    UserPromptSubmit (sync: a plugin can answer it)"),
            "{stdout}"
        );
    }

    fn repo(&self, name: &str, branch: &str) -> std::path::PathBuf {
        git_repo(self.dir.path(), name, branch)
    }

    /// Wait until the gateway's group for this world shows every expected value (summed over
    /// the series matching the labels), then assert them exactly.
    fn assert_gateway(&self, expected: &[Expected<'_>]) {
        let deadline = Instant::now() + GATEWAY_WAIT;
        let read = || -> Vec<f64> {
            let group = self.gateway.group(&self.instance);
            expected
                .iter()
                .map(|(family, labels, _)| {
                    group.as_ref().map_or(0.0, |g| {
                        g.family(family)
                            .iter()
                            .filter(|s| {
                                labels
                                    .iter()
                                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
                            })
                            .map(|s| s.value)
                            .sum()
                    })
                })
                .collect()
        };
        let want: Vec<f64> = expected.iter().map(|e| e.2).collect();
        let mut got = read();
        while got != want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            got = read();
        }
        for ((family, labels, want), got) in expected.iter().zip(&got) {
            assert_eq!(
                got,
                want,
                "{family}{labels:?} in the gateway (after waiting up to {GATEWAY_WAIT:?});\n\
                 gateway group: {:#?}\nlocal store: {:#?}\nhookmeter log:\n{}",
                self.gateway.group(&self.instance),
                self.env.metrics(),
                self.env.log()
            );
        }
    }
}

fn assert_turns_completed(t: &Transcript, n: usize) {
    let results = t.results();
    assert_eq!(results.len(), n, "turns:\n{}", t.dump());
    for r in &results {
        assert_eq!(r["is_error"], false, "a turn failed:\n{}", t.dump());
    }
    assert!(t.success, "the CLI exited with an error:\n{}", t.dump());
}

/// Claude Code reports every hook run in its stream; none of hookmeter's may fail.
fn assert_no_hook_failures(t: &Transcript) {
    for line in &t.lines {
        if line["subtype"] == "hook_response" {
            assert_eq!(line["exit_code"], 0, "a hook failed: {line}\n{}", t.dump());
        }
    }
}

/// (a) One session, several prompts and real tool calls → exact counts per project/branch,
/// and the user's own hook, merged beside hookmeter's, still runs.
#[test]
fn a_session_is_counted_exactly_per_project_and_branch() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("counts-repo/notes.txt");
    let script = json!([
        {"when_prompt_contains": "marker command",
         "tool_use": {"name": "Bash", "input": {"command": "echo hookmeter-e2e", "description": "Print a marker"}},
         "then_text": "Printed it."},
        {"when_prompt_contains": "Write notes",
         "tool_use": {"name": "Write", "input": {"file_path": notes, "content": "written by the e2e test\n"}},
         "then_text": "Wrote it."},
        {"when_prompt_contains": "Read notes",
         "tool_use": {"name": "Read", "input": {"file_path": notes}},
         "then_text": "Read it."},
        {"text": "Hello."},
    ]);
    let world = World::new("counts", "", Some(script));
    // A user hook that was there first: install must keep it, and Claude Code must still run it.
    let stops = dir.path().join("stops.log");
    let before = std::fs::read_to_string(world.claude.settings_path()).unwrap();
    let mut settings: Value = serde_json::from_str(&before).unwrap();
    settings["hooks"]["Stop"].as_array_mut().unwrap().insert(
        0,
        json!({"hooks": [{"type": "command", "command": format!("echo stop >> '{}'", stops.display())}]}),
    );
    std::fs::write(
        world.claude.settings_path(),
        serde_json::to_string_pretty(&settings).unwrap(),
    )
    .unwrap();
    world.install_again_changes_nothing();

    let repo = git_repo(dir.path(), "counts-repo", "feature/e2e-counts");
    let prompts = [
        "Run the marker command.",
        "Write notes.txt please.",
        "Read notes.txt back.",
        "Just say hello.",
    ];
    let t = world.claude.session(&repo, &prompts);
    assert_turns_completed(&t, 4);
    assert_no_hook_failures(&t);
    let turns = t.turns();
    assert_eq!(Transcript::tool_calls(turns[0]), ["Bash"]);
    assert_eq!(Transcript::tool_calls(turns[1]), ["Write"]);
    assert_eq!(Transcript::tool_calls(turns[2]), ["Read"]);
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "written by the e2e test\n",
        "the Write tool really ran"
    );

    let pb: &[(&str, &str)] = &[("project", "counts-repo"), ("branch", "feature/e2e-counts")];
    let tool = |name: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("project", "counts-repo"),
            ("branch", "feature/e2e-counts"),
            ("tool", name),
        ]
    };
    let (bash, write, read) = (tool("Bash"), tool("Write"), tool("Read"));
    world.assert_gateway(&[
        ("claude_project_session_total", pb, 1.0),
        ("claude_project_prompts_total", pb, 4.0),
        ("claude_project_tool_uses_total", pb, 3.0),
        ("claude_project_tool_uses_total", &bash, 1.0),
        ("claude_project_tool_uses_total", &write, 1.0),
        ("claude_project_tool_uses_total", &read, 1.0),
        ("claude_project_active", pb, 0.0),
        ("hookmeter_events_total", &[("event", "SessionStart")], 1.0),
        (
            "hookmeter_events_total",
            &[("event", "UserPromptSubmit")],
            4.0,
        ),
        ("hookmeter_events_total", &[("event", "PostToolUse")], 3.0),
        ("hookmeter_events_total", &[("event", "Stop")], 4.0),
        ("hookmeter_events_total", &[("event", "SessionEnd")], 1.0),
        ("hookmeter_plugin_errors_total", &[], 0.0),
    ]);
    // The user's own Stop hook ran once per turn, beside hookmeter's.
    let stop_lines = std::fs::read_to_string(&stops).unwrap_or_default();
    assert_eq!(
        stop_lines.lines().count(),
        4,
        "the user's Stop hook ran {stop_lines:?}"
    );
    // The local store agrees with the gateway.
    assert_eq!(
        world.env.value(
            r#"claude_project_prompts_total{branch="feature/e2e-counts",project="counts-repo"}"#
        ),
        4.0
    );
}

impl World {
    fn install_again_changes_nothing(&self) {
        let settings = self.claude.settings_path();
        let before = std::fs::read_to_string(&settings).unwrap();
        let out = self
            .env
            .cmd(&["install", "--settings", settings.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to change"));
        assert_eq!(std::fs::read_to_string(&settings).unwrap(), before);
    }
}

/// (b) `+10 squats` is logged and blocked: the model never sees it, the user sees the
/// plugin's reason, and the reps reach the gateway — twice, to show the total grows.
#[test]
fn b_a_rep_log_is_blocked_counted_and_never_reaches_the_model() {
    let world = World::new("squats", "", None);
    let repo = world.repo("gym-repo", "main");

    let t = world.claude.session(
        &repo,
        &["Run something first.", "+10 squats", "And something after."],
    );
    assert_turns_completed(&t, 3);
    let turns = t.turns();
    let notices = Transcript::notices(turns[1]).join("\n");
    assert!(
        notices.contains("Logged 10 squats — 10 today"),
        "turn 2 shows the reason:\n{}",
        t.dump()
    );
    assert!(
        Transcript::texts(turns[1]).is_empty(),
        "the model answered a blocked prompt:\n{}",
        t.dump()
    );
    let blocked = turns[1]
        .iter()
        .find(|l| l["prompt_submit_outcome"]["kind"] == "blocked_by_hook");
    assert_eq!(
        blocked.map(|l| l["prompt_submit_outcome"]["reason"].clone()),
        Some(json!("Logged 10 squats — 10 today")),
        "{}",
        t.dump()
    );
    assert_eq!(
        Transcript::texts(turns[2]),
        ["The command printed hookmeter-fixture."],
        "the session goes on"
    );
    world.assert_gateway(&[("exercise_reps_total", &[("exercise", "squats")], 10.0)]);

    let t = world.claude.session(&repo, &["+10 squats"]);
    assert_turns_completed(&t, 1);
    assert!(
        Transcript::notices(t.turns()[0])
            .join("\n")
            .contains("Logged 10 squats — 20 today"),
        "{}",
        t.dump()
    );
    world.assert_gateway(&[
        ("exercise_reps_total", &[("exercise", "squats")], 20.0),
        ("exercise_sessions_total", &[("exercise", "squats")], 2.0),
    ]);

    let log = world.api.request_log();
    assert!(!log.is_empty(), "the stand-in saw no requests at all");
    assert!(
        !log.contains("+10 squats"),
        "a request carried the rep log:\n{log}"
    );
    assert!(
        log.contains("And something after."),
        "the request log is not what it seems"
    );
}

/// (c) A quick set is suggested as a system message when the cooldown allows it (the first
/// prompt), and not again within the cooldown (the second).
#[test]
fn c_an_exercise_suggestion_is_shown_when_the_cooldown_allows() {
    let world = World::new(
        "suggest",
        "[plugins.exercise]\ncooldown_minutes = 20\nquick_reps = 7\n",
        None,
    );
    let repo = world.repo("suggest-repo", "main");
    let t = world
        .claude
        .session(&repo, &["First prompt.", "Second prompt."]);
    assert_turns_completed(&t, 2);
    let turns = t.turns();
    let first = Transcript::notices(turns[0]);
    assert!(
        first
            .iter()
            .any(|n| n.contains("Quick set while Claude works: 7 squats. Log it with `+7`.")),
        "no suggestion on the first prompt:\n{}",
        t.dump()
    );
    assert!(
        !Transcript::notices(turns[1])
            .iter()
            .any(|n| n.contains("Quick set")),
        "a second suggestion within the cooldown:\n{}",
        t.dump()
    );
    // The suggestion did not stop the prompt: the model answered both.
    assert_eq!(
        Transcript::texts(turns[0]),
        ["The command printed hookmeter-fixture."]
    );
    world.assert_gateway(&[
        (
            "exercise_prompts_total",
            &[("exercise", "squats"), ("mode", "quick")],
            1.0,
        ),
        ("exercise_prompts_total", &[], 1.0),
    ]);
}

/// (d) Two sessions at once in two repositories, one store, one gateway: both counted,
/// nothing lost.
#[test]
fn d_two_sessions_at_once_are_both_counted() {
    let world = World::new("concurrent", "", None);
    let left = world.repo("left-repo", "main");
    let right = world.repo("right-repo", "feature/right");
    let prompts = ["One.", "Two.", "Three."];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| world.claude.session(&left, &prompts));
        let b = s.spawn(|| world.claude.session(&right, &prompts));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_turns_completed(&a, 3);
    assert_turns_completed(&b, 3);
    let l: &[(&str, &str)] = &[("project", "left-repo"), ("branch", "main")];
    let r: &[(&str, &str)] = &[("project", "right-repo"), ("branch", "feature/right")];
    world.assert_gateway(&[
        ("claude_project_session_total", l, 1.0),
        ("claude_project_session_total", r, 1.0),
        ("claude_project_prompts_total", l, 3.0),
        ("claude_project_prompts_total", r, 3.0),
        (
            "claude_project_tool_uses_total",
            &[("project", "left-repo"), ("tool", "Bash")],
            3.0,
        ),
        (
            "claude_project_tool_uses_total",
            &[("project", "right-repo"), ("tool", "Bash")],
            3.0,
        ),
        (
            "hookmeter_events_total",
            &[("event", "UserPromptSubmit")],
            6.0,
        ),
        ("hookmeter_events_total", &[("event", "PostToolUse")], 6.0),
        ("hookmeter_events_total", &[("event", "SessionEnd")], 2.0),
    ]);
}

/// (e) A plugin that traps on every event: Claude Code never notices (hookmeter fails open),
/// the other plugins' counts are exact, and every trap is counted.
#[test]
fn e_a_trapping_plugin_does_not_disturb_the_session() {
    let config = format!(
        "[plugins.trapper]\npath = {:?}\nmode = \"trap\"\n",
        plugin_wasm("hostile").display().to_string()
    );
    let world = World::new("trap", &config, None);
    let settings = std::fs::read_to_string(world.claude.settings_path()).unwrap();
    // `trapper` subscribes to every event, so install registered them all (but not the
    // worktree events, whose hooks would replace Claude Code's own behaviour).
    assert!(
        settings.contains("\"PreToolUse\"") && settings.contains("\"MessageDisplay\""),
        "{settings}"
    );
    assert!(!settings.contains("WorktreeCreate"), "{settings}");

    let repo = world.repo("trap-repo", "main");
    let t = world.claude.session(&repo, &["One.", "Two."]);
    assert_turns_completed(&t, 2);
    assert_no_hook_failures(&t);
    for turn in t.turns() {
        assert_eq!(
            Transcript::texts(turn),
            ["The command printed hookmeter-fixture."],
            "{}",
            t.dump()
        );
    }
    let pb: &[(&str, &str)] = &[("project", "trap-repo"), ("branch", "main")];
    world.assert_gateway(&[
        ("claude_project_session_total", pb, 1.0),
        ("claude_project_prompts_total", pb, 2.0),
        ("claude_project_tool_uses_total", pb, 2.0),
        ("hookmeter_events_total", &[("event", "SessionEnd")], 1.0),
    ]);
    // Every event hookmeter ran for trapped once in `trapper`, and nothing else failed.
    let metrics = world.env.metrics();
    let events: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("hookmeter_events_total{"))
        .map(|(_, v)| v)
        .sum();
    assert!(events >= 10.0, "too few events: {metrics:#?}");
    let traps = r#"hookmeter_plugin_errors_total{plugin="trapper",reason="trap"}"#;
    assert_eq!(metrics.get(traps).copied(), Some(events), "{metrics:#?}");
    let errors: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("hookmeter_plugin_errors_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(errors, events, "only trapper failed: {metrics:#?}");
    world.assert_gateway(&[(
        "hookmeter_plugin_errors_total",
        &[("plugin", "trapper"), ("reason", "trap")],
        events,
    )]);
    assert!(world.env.log().contains("trap"), "traps are logged");
}
