//! The plugin test harness: `hookmeter test` (the real binary) and `hookmeter::harness` (the
//! Rust API), on real components built from this repository. The harness must judge a plugin
//! exactly as `hookmeter run` does, so the sandbox tests compare the two on the hostile plugin.

use std::path::Path;
use std::process::Output;

use hookmeter::harness::{Harness, Limits, Op, Options, default_context};
use hookmeter_e2e::{Env, plugin_wasm};

fn hookmeter_test(env: &Env, args: &[&str]) -> Output {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    env.cmd(&all).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const PROMPT_CASE: &str = r#"# Written by hand; --bless must keep this comment.
description = "a prompt counts for its project and branch"

[[step]]
[step.event]
hook_event_name = "UserPromptSubmit"
session_id = "s1"
cwd = "/work/demo"
prompt = "hello"
[step.context]
project = "demo"
branch = "feature"
[step.expect]
# The one update project-sessions makes for a prompt, plus its last-active stamp.
updates = [
  { name = "claude_project_last_active_timestamp_seconds", labels = { project = "demo", branch = "feature" }, set = 1700000000.0 },
  { name = "claude_project_prompts_total", labels = { branch = "feature", project = "demo" }, inc = 1.0 },
]
answer = {}
"#;

#[test]
fn passing_case_prints_ok_and_summary() {
    let env = Env::new();
    let cases = env.dir.path().join("cases");
    std::fs::create_dir_all(cases.join("nested")).unwrap();
    std::fs::write(cases.join("nested/prompt.toml"), PROMPT_CASE).unwrap();
    std::fs::write(cases.join("notes.txt"), "not a case").unwrap();
    let wasm = plugin_wasm("project-sessions");
    let out = hookmeter_test(&env, &[wasm.to_str().unwrap(), cases.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("ok      ")
            && t.contains("nested/prompt.toml  a prompt counts for its project and branch"),
        "{t}"
    );
    assert_eq!(t.lines().last(), Some("1 passed, 0 failed"), "{t}");
}

#[test]
fn failing_case_shows_diffs_and_bless_fixes_it() {
    let env = Env::new();
    let case = env.dir.path().join("prompt.toml");
    let wrong = PROMPT_CASE
        .replace("inc = 1.0", "inc = 2.0")
        .replace("answer = {}", "answer = { system_message = \"hi\" }");
    std::fs::write(&case, &wrong).unwrap();
    let wasm = plugin_wasm("project-sessions");
    let args = [wasm.to_str().unwrap(), case.to_str().unwrap()];

    let out = hookmeter_test(&env, &args);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED  "), "{t}");
    assert!(
        t.contains("step 1 (UserPromptSubmit): updates (- expected, + actual):"),
        "{t}"
    );
    assert!(t.contains("    --- expected\n    +++ actual\n"), "{t}");
    // Only the wrong line differs; the matching one is context.
    assert!(t.contains(r#"     { name = "claude_project_last_active_timestamp_seconds", labels = { branch = "feature", project = "demo" }, set = 1700000000.0 }"#), "{t}");
    assert!(t.contains(r#"    -{ name = "claude_project_prompts_total", labels = { branch = "feature", project = "demo" }, inc = 2.0 }"#), "{t}");
    assert!(t.contains(r#"    +{ name = "claude_project_prompts_total", labels = { branch = "feature", project = "demo" }, inc = 1.0 }"#), "{t}");
    assert!(
        t.contains("    -system_message = \"hi\"\n    +(no answer)"),
        "{t}"
    );
    assert_eq!(t.lines().last(), Some("0 passed, 1 failed"), "{t}");

    let mut bless_args = args.to_vec();
    bless_args.push("--bless");
    let out = hookmeter_test(&env, &bless_args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("blessed {}", case.display())));
    let blessed = std::fs::read_to_string(&case).unwrap();
    assert!(
        blessed.starts_with("# Written by hand; --bless must keep this comment.\n"),
        "{blessed}"
    );
    assert!(
        blessed.contains("# The one update project-sessions makes"),
        "{blessed}"
    );
    assert!(blessed.contains("answer = {}\n"), "{blessed}");
    assert!(
        blessed.contains(r#"labels = { branch = "feature", project = "demo" }, inc = 1.0 },"#),
        "{blessed}"
    );

    let out = hookmeter_test(&env, &args);
    assert!(out.status.success(), "{}", text(&out));
    // Blessing a passing case changes nothing.
    let out = hookmeter_test(&env, &bless_args);
    assert!(out.status.success());
    assert!(!text(&out).contains("blessed"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&case).unwrap(), blessed);
}

#[test]
fn bless_fills_in_a_step_without_expectations() {
    let env = Env::new();
    let case = env.dir.path().join("new.toml");
    let text_before = "description = \"new\"\n\n[[step]]\n[step.event]\nhook_event_name = \"SessionStart\"\nsession_id = \"s9\"\nsource = \"startup\"\n";
    std::fs::write(&case, text_before).unwrap();
    let wasm = plugin_wasm("project-sessions");
    let out = hookmeter_test(
        &env,
        &[wasm.to_str().unwrap(), case.to_str().unwrap(), "--bless"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let blessed = std::fs::read_to_string(&case).unwrap();
    assert!(blessed.starts_with(text_before), "{blessed}");
    assert!(
        blessed.contains("[step.expect]\nupdates = [\n"),
        "{blessed}"
    );
    assert!(blessed.contains(r#"{ name = "claude_project_session_total", labels = { branch = "main", project = "project" }, inc = 1.0 },"#), "{blessed}");
    assert!(
        blessed.contains(r#"state = { "active/project/main" = '{"s9":1700000000000}' }"#),
        "{blessed}"
    );
    let out = hookmeter_test(&env, &[wasm.to_str().unwrap(), case.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn bad_inputs_are_named() {
    let env = Env::new();
    let wasm = plugin_wasm("project-sessions");
    let dir = env.dir.path();
    std::fs::write(
        dir.join("typo.toml"),
        "[[steps]]\n[steps.event]\nhook_event_name = \"Stop\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad_event.toml"),
        "[[step]]\n[step.event]\nsession_id = \"s1\"\n",
    )
    .unwrap();
    let typo = dir.join("typo.toml");
    let bad_event = dir.join("bad_event.toml");
    let out = hookmeter_test(
        &env,
        &[
            wasm.to_str().unwrap(),
            typo.to_str().unwrap(),
            bad_event.to_str().unwrap(),
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("typo.toml is not a valid case file") && t.contains("steps"),
        "{t}"
    );
    assert!(
        t.contains("step 1: the event is not a valid hook event") && t.contains("hook_event_name"),
        "{t}"
    );
    assert_eq!(t.lines().last(), Some("0 passed, 2 failed"), "{t}");

    let missing = dir.join("nowhere");
    let out = hookmeter_test(&env, &[wasm.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("nowhere"), "{}", text(&out));

    let not_wasm = dir.join("plugin.wasm");
    std::fs::write(&not_wasm, b"\0asm but not really").unwrap();
    let out = hookmeter_test(&env, &[not_wasm.to_str().unwrap(), typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("not a valid component"),
        "{}",
        text(&out)
    );
}

/// Budget for the modes that must not time out: generous, so that a loaded machine cannot
/// turn another misbehaviour into a timeout. `loop` keeps the default.
fn timeout_ms(mode: &str) -> u64 {
    if mode == "loop" {
        Limits::default().timeout_ms
    } else {
        20_000
    }
}

/// The reason `hookmeter run` counts in `hookmeter_plugin_errors_total` for a hostile mode.
fn reasons_from_run(mode: &str, extra: &str) -> Vec<String> {
    let wasm = plugin_wasm("hostile");
    let env = Env::with_config(&format!(
        "[limits]\ntimeout_ms = {}\n[plugins.project-sessions]\nenabled = false\n[plugins.exercise]\nenabled = false\n\
         [plugins.h]\npath = {:?}\nmode = {mode:?}\n{extra}\n",
        timeout_ms(mode),
        wasm.display()
    ));
    let out = env.run_hook(br#"{"hook_event_name":"Stop","session_id":"s1","cwd":"/tmp"}"#);
    assert!(out.status.success(), "{}", text(&out));
    env.metrics()
        .keys()
        .filter(|k| k.starts_with("hookmeter_plugin_errors_total{") && k.contains("plugin=\"h\""))
        .map(|k| {
            k.split("reason=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn misbehaviour_is_judged_as_hookmeter_run_judges_it() {
    let wasm = plugin_wasm("hostile");
    let open = |timeout_ms: u64| {
        let options = Options {
            limits: Limits {
                timeout_ms,
                ..Limits::default()
            },
            ..Options::default()
        };
        Harness::open(&wasm, options).unwrap()
    };
    let mut patient = open(timeout_ms("error"));
    let mut strict = open(timeout_ms("loop"));
    let stop = r#"{"hook_event_name":"Stop","session_id":"s1","cwd":"/tmp"}"#;
    let cases = [
        ("error", "", "error"),
        ("trap", "", "trap"),
        ("loop", "", "timeout"),
        ("memory", "", "memory"),
        ("recurse", "", "trap"),
        ("invalid_names", "", "invalid_update"),
        ("many_updates", "n = 20000", "too_many_updates"),
        ("big_label", "n = 2000", "invalid_update"),
        ("state_flood", "n = 1030", "state_limit"),
    ];
    for (mode, extra, reason) in cases {
        let harness = if mode == "loop" {
            &mut strict
        } else {
            &mut patient
        };
        harness.reset();
        harness
            .configure(&format!("mode = {mode:?}\n{extra}"))
            .unwrap();
        let step = harness.step(stop, &default_context()).unwrap();
        let mut harness_reasons: Vec<String> =
            step.problems.iter().map(|p| p.reason.to_owned()).collect();
        harness_reasons.sort();
        harness_reasons.dedup();
        assert_eq!(
            harness_reasons,
            vec![reason.to_owned()],
            "{mode}: {:?}",
            step.problems
        );
        assert_eq!(
            reasons_from_run(mode, extra),
            harness_reasons,
            "{mode}: the harness and `hookmeter run` disagree"
        );
        assert!(harness.call(stop, &default_context()).is_err(), "{mode}");
    }
    // invalid_names: the one valid update still counts, as in a run; the five bad ones are named.
    let harness = &mut patient;
    harness.configure("mode = \"invalid_names\"").unwrap();
    let step = harness.step(stop, &default_context()).unwrap();
    assert_eq!(step.updates.len(), 1);
    assert_eq!(step.problems.len(), 5, "{:?}", step.problems);
    let messages: Vec<&str> = step.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("not a declared metric family")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("cannot decrease")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("not finite")),
        "{messages:?}"
    );
}

#[test]
fn the_sandbox_grants_nothing() {
    let mut harness = Harness::load(plugin_wasm("hostile")).unwrap();
    let stop = r#"{"hook_event_name":"Stop","session_id":"s1","cwd":"/tmp"}"#;
    let ctx = default_context();
    let value = |harness: &mut Harness, mode: &str, key: &str| -> f64 {
        harness.configure(&format!("mode = {mode:?}")).unwrap();
        let step = harness.call(stop, &ctx).unwrap();
        let update = step
            .updates
            .iter()
            .find(|u| u.labels == vec![("key".to_owned(), key.to_owned())])
            .unwrap();
        match update.op {
            Op::Set(v) => v,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        value(&mut harness, "read_file", "file_bytes"),
        -1.0,
        "no files"
    );
    assert_eq!(
        value(&mut harness, "env", "env_vars"),
        0.0,
        "no environment"
    );
    assert_eq!(
        value(&mut harness, "clock", "wall_ms"),
        ctx.now_ms as f64,
        "the wall clock is the event's time"
    );
    assert_eq!(
        value(&mut harness, "clock", "elapsed_ns"),
        0.0,
        "the monotonic clock stands still"
    );
    assert_eq!(
        value(&mut harness, "socket", "connected"),
        0.0,
        "no network"
    );
}

#[test]
fn series_limit_counts_across_steps() {
    let limits = Limits {
        max_series: 3,
        ..Limits::default()
    };
    let mut harness = Harness::open(
        &plugin_wasm("hostile"),
        Options {
            limits,
            ..Options::default()
        },
    )
    .unwrap();
    harness.configure("mode = \"many_updates\"\nn = 2").unwrap();
    let stop = r#"{"hook_event_name":"Stop","session_id":"s1","cwd":"/tmp"}"#;
    // hostile_calls_total{mode} plus two hostile_value series: 3, the limit.
    let first = harness.call(stop, &default_context()).unwrap();
    assert_eq!(first.updates.len(), 3);
    // The same series again are updates, not new series.
    assert_eq!(
        harness
            .call(stop, &default_context())
            .unwrap()
            .updates
            .len(),
        3
    );
    harness.configure("mode = \"many_updates\"\nn = 4").unwrap();
    let step = harness.step(stop, &default_context()).unwrap();
    assert_eq!(step.updates.len(), 3);
    assert_eq!(step.problems.len(), 2);
    assert!(
        step.problems
            .iter()
            .all(|p| p.reason == "cardinality" && p.message.contains("max_series")),
        "{:?}",
        step.problems
    );
}

#[test]
fn rust_api_steps_keep_state_and_note_what_claude_code_would_not_see() {
    let mut harness = Harness::load(plugin_wasm("project-sessions")).unwrap();
    assert_eq!(harness.name(), "project-sessions");
    let start =
        r#"{"hook_event_name":"SessionStart","session_id":"a","cwd":"/w","source":"startup"}"#;
    let mut ctx = default_context();
    let first = harness.call(start, &ctx).unwrap();
    assert!(first.called);
    assert!(
        first
            .updates
            .iter()
            .any(|u| u.family == "claude_project_active" && u.op == Op::Set(1.0))
    );
    ctx.now_ms += 1000;
    let second = harness
        .call(&start.replace("\"a\"", "\"b\""), &ctx)
        .unwrap();
    assert!(
        second
            .updates
            .iter()
            .any(|u| u.family == "claude_project_active" && u.op == Op::Set(2.0)),
        "state carried over"
    );
    assert!(harness.state()["active/project/main"].contains("\"b\""));

    // Not subscribed: not called, as under `hookmeter run`, and said so.
    let step = harness
        .call(
            r#"{"hook_event_name":"Notification","session_id":"a"}"#,
            &ctx,
        )
        .unwrap();
    assert!(!step.called && step.updates.is_empty());
    assert!(
        step.notes[0].contains("not subscribed to Notification"),
        "{:?}",
        step.notes
    );

    // A bad event is refused as `hookmeter run` refuses it.
    let err = harness.call(r#"{"session_id":"a"}"#, &ctx).unwrap_err();
    assert!(err.message.contains("hook_event_name"), "{}", err.message);
}

#[test]
fn rust_api_runs_case_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prompt.toml"), PROMPT_CASE).unwrap();
    std::fs::write(
        dir.path().join("wrong.toml"),
        PROMPT_CASE.replace("project = \"demo\" }, inc", "project = \"x\" }, inc"),
    )
    .unwrap();
    let mut harness = Harness::load(plugin_wasm("project-sessions")).unwrap();
    let report = harness.check_cases(&[dir.path()]);
    assert_eq!((report.passed(), report.failed()), (1, 1));
    assert_eq!(report.summary(), "1 passed, 1 failed");
    let shown = report.to_string();
    assert!(
        shown.contains("FAILED")
            && shown.contains("wrong.toml")
            && shown.contains("+{ name = \"claude_project_prompts_total\""),
        "{shown}"
    );

    // run_cases panics with the same report.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        harness.run_cases(dir.path());
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("plugin cases failed") && message.contains("wrong.toml"),
        "{message}"
    );
    std::fs::remove_file(dir.path().join("wrong.toml")).unwrap();
    assert!(harness.run_cases(dir.path()).is_ok());
    assert!(Path::new(&dir.path().join("prompt.toml")).exists());
}

#[test]
fn families_of_bundled_plugins_are_taken() {
    // A copy of project-sessions under another name declares families the bundled one owns.
    let wasm = plugin_wasm("project-sessions");
    let options = Options {
        plugin_name: Some("copy".into()),
        ..Options::default()
    };
    let mut harness = Harness::open(&wasm, options).unwrap();
    let prompt =
        r#"{"hook_event_name":"UserPromptSubmit","session_id":"s1","cwd":"/tmp","prompt":"hi"}"#;
    let step = harness.step(prompt, &default_context()).unwrap();
    assert!(step.updates.is_empty(), "{:?}", step.updates);
    assert!(
        step.problems.iter().any(|p| p.reason == "invalid_manifest"
            && p.message
                .contains("already declared by plugin project-sessions")),
        "{:?}",
        step.problems
    );
    // `hookmeter run` says the same.
    let env = Env::with_config(&format!("[plugins.copy]\npath = {:?}\n", wasm.display()));
    let out = env.run_hook(prompt.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        env.metrics().contains_key(
            "hookmeter_plugin_errors_total{plugin=\"copy\",reason=\"invalid_manifest\"}"
        ),
        "{:?}",
        env.metrics()
    );
}
