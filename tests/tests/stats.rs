//! `hookmeter stats` on stores filled by real `hookmeter run`s: exact numbers in `--json`, the
//! bars in the text report, and an empty store.
//!
//! Days are local days, so every process here gets an explicit `TZ`. A hook run with
//! `TZ=UTC+24` (POSIX: local time = UTC − 24 h) files its counts under yesterday's date, which
//! is how the test puts real runs on an earlier day without touching the clock.

use std::process::Command;

use hookmeter_e2e::{Env, event, fake_repo, run_with_stdin};
use serde_json::{Value, json};

/// `date` in `tz`, `days_ago` days back, as YYYY-MM-DD.
fn date(tz: &str, days_ago: u32) -> String {
    let out = Command::new("date")
        .env("TZ", tz)
        .arg("-d")
        .arg(format!("{days_ago} days ago"))
        .arg("+%F")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `hookmeter run` with the event, in time zone `tz`; exit 0 expected.
fn run(env: &Env, tz: &str, payload: &[u8]) -> Value {
    let mut cmd = env.cmd(&["run"]);
    cmd.env("TZ", tz);
    let out = run_with_stdin(cmd, payload);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hookmeter run: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.log()
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// `hookmeter stats ARGS` in UTC, piped (no terminal), `COLUMNS` as given.
fn stats(env: &Env, args: &[&str], columns: Option<&str>) -> String {
    let mut all = vec!["stats"];
    all.extend_from_slice(args);
    let mut cmd = env.cmd(&all);
    cmd.env("TZ", "UTC");
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "hookmeter stats {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Yesterday (two runs in `alpha`) and today (a quick set taken up, a logged set, a set from
/// a tracker, prompts in two projects), all through `hookmeter run`, with the bundled plugins'
/// defaults (a suggestion at most every 20 minutes).
fn fill(env: &Env, alpha: &std::path::Path, beta: &std::path::Path) {
    let yesterday = "UTC+24";
    run(
        env,
        yesterday,
        &event("SessionStart", "s0", alpha, json!({"source": "startup"})),
    );
    let answer = run(
        env,
        yesterday,
        &event(
            "UserPromptSubmit",
            "s0",
            alpha,
            json!({"prompt": "+8 lunges"}),
        ),
    );
    assert_eq!(answer["decision"], "block", "{answer}");

    let today = "UTC";
    run(
        env,
        today,
        &event("SessionStart", "s1", alpha, json!({"source": "startup"})),
    );
    let answer = run(
        env,
        today,
        &event(
            "UserPromptSubmit",
            "s1",
            alpha,
            json!({"prompt": "write the parser"}),
        ),
    );
    assert_eq!(
        answer["systemMessage"], "Quick set while Claude works: 5 squats. Log it with `+5`.",
        "{answer}"
    );
    run(
        env,
        today,
        &event("UserPromptSubmit", "s1", alpha, json!({"prompt": "+5"})),
    );
    run(
        env,
        today,
        &event(
            "UserPromptSubmit",
            "s1",
            alpha,
            json!({"prompt": "+10 push-ups"}),
        ),
    );
    run(
        env,
        today,
        &event("SessionStart", "s2", beta, json!({"source": "startup"})),
    );
    // Within the cooldown: no suggestion, but a prompt all the same.
    let answer = run(
        env,
        today,
        &event("UserPromptSubmit", "s2", beta, json!({"prompt": "hello"})),
    );
    assert_eq!(answer, Value::Null);
    // After /compact the session goes on: not a new one.
    run(
        env,
        today,
        &event("SessionStart", "s2", beta, json!({"source": "compact"})),
    );
    run(
        env,
        today,
        &event(
            "ExerciseCompleted",
            "s2",
            beta,
            json!({"exercise": "squats", "reps": 20, "duration_seconds": 50}),
        ),
    );
}

#[test]
fn json_report_has_the_exact_numbers_of_real_runs() {
    // A run that straddles midnight UTC would split the days differently from the
    // expectations: run it again (at most once more).
    for attempt in 0..2 {
        let (today, yesterday) = (date("UTC", 0), date("UTC", 1));
        let env = Env::new();
        let tmp = tempfile::tempdir().unwrap();
        let alpha = fake_repo(tmp.path(), "alpha", "main");
        let beta = fake_repo(tmp.path(), "beta", "dev");
        fill(&env, &alpha, &beta);
        let report: Value = serde_json::from_str(&stats(&env, &["--json"], None)).unwrap();
        if date("UTC", 0) != today && attempt == 0 {
            continue;
        }

        assert_eq!(report["has_data"], true);
        assert_eq!(report["utc_offset"], "+00:00");
        assert_eq!(report["history_since"], yesterday.as_str());
        assert_eq!(
            report["today"],
            json!({
                "from": today, "to": today,
                "reps": {"squats": 25, "pushups": 10},
                "reps_total": 35,
                "sets": {"done": 3, "done_when_suggested": 1, "suggested": 1},
                "projects": [
                    {"project": "alpha", "branch": "main", "sessions": 1, "prompts": 3},
                    {"project": "beta", "branch": "dev", "sessions": 1, "prompts": 1},
                ],
            }),
            "{report:#}"
        );
        let week = &report["last_7_days"];
        assert_eq!(week["from"], date("UTC", 6).as_str());
        assert_eq!(
            week["reps"],
            json!({"squats": 25, "pushups": 10, "lunges": 8})
        );
        assert_eq!(week["reps_total"], 43);
        assert_eq!(
            week["sets"],
            json!({"done": 4, "done_when_suggested": 1, "suggested": 1})
        );
        assert_eq!(
            week["projects"],
            json!([
                {"project": "alpha", "branch": "main", "sessions": 2, "prompts": 4},
                {"project": "beta", "branch": "dev", "sessions": 1, "prompts": 1},
            ])
        );
        let per_day: Vec<(String, i64)> = week["reps_per_day"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["day"].as_str().unwrap().to_owned(),
                    d["reps"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, i64)> = (0..7)
            .rev()
            .map(|ago| {
                (
                    date("UTC", ago),
                    [35, 8].get(ago as usize).copied().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(per_day, expected);
        assert_eq!(report["all_time"], json!({"reps": 43, "sets": 4}));
        assert_eq!(report["last_set"]["exercise"], "squats");
        assert_eq!(report["last_set"]["reps"], 20);
        assert!(
            report["last_set"]["time"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{today}T")),
            "{report:#}"
        );

        // The same store from another zone: UTC+24's "today" is UTC's tomorrow, so nothing
        // happened "today" there, and the week still holds both days.
        let mut cmd = env.cmd(&["stats", "--json"]);
        cmd.env("TZ", "UTC-24");
        let ahead: Value = serde_json::from_slice(&cmd.output().unwrap().stdout).unwrap();
        assert_eq!(ahead["today"]["reps_total"], 0);
        assert_eq!(ahead["utc_offset"], "+24:00");
        assert_eq!(ahead["last_7_days"]["reps_total"], 43);
        return;
    }
}

#[test]
fn text_report_shows_bars_scaled_to_the_width() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    fill(
        &env,
        &fake_repo(tmp.path(), "alpha", "main"),
        &fake_repo(tmp.path(), "beta", "dev"),
    );

    // Piped, no COLUMNS: 40-cell bars; squats (25) is the longest, pushups (10) 16 cells.
    let text = stats(&env, &[], None);
    let line = |text: &str, start: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?}:\n{text}"))
            .to_owned()
    };
    assert!(
        line(&text, "squats").contains(&format!(" {} ", "█".repeat(40))),
        "{text}"
    );
    assert!(
        line(&text, "pushups").contains(&format!(" {}{} ", "█".repeat(16), " ".repeat(24))),
        "{text}"
    );
    assert!(
        text.contains("Sets      3 done, 1 suggested · 1 done when suggested (100%)"),
        "{text}"
    );
    assert!(
        text.contains("    alpha    main           1        3\n"),
        "{text}"
    );
    assert!(text.contains("Last set  20 squats · today "), "{text}");
    assert!(text.contains("All time  43 reps in 4 sets"), "{text}");

    // A 72-column terminal: every bar line is exactly that wide.
    let text = stats(&env, &[], Some("72"));
    let bar_lines: Vec<&str> = text.lines().filter(|l| l.contains('█')).collect();
    // squats, pushups today; squats, pushups, lunges this week; yesterday and today per day.
    assert_eq!(bar_lines.len(), 2 + 3 + 2, "{text}");
    for l in bar_lines {
        assert_eq!(l.chars().count(), 72, "{l:?}\n{text}");
    }
}

#[test]
fn an_empty_store_gets_a_friendly_report_and_is_not_created() {
    let env = Env::new();
    let text = stats(&env, &[], None);
    assert!(text.contains("No data yet"), "{text}");
    assert!(text.contains("hookmeter install"), "{text}");
    let report: Value = serde_json::from_str(&stats(&env, &["--json"], None)).unwrap();
    assert_eq!(report["has_data"], false);
    assert_eq!(report["today"]["reps_total"], 0);
    assert_eq!(
        report["last_7_days"]["reps_per_day"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(report["last_set"], Value::Null);
    assert!(
        !env.state_dir().join("hookmeter.db").exists(),
        "stats created a store"
    );

    // A store that exists but only saw events the plugins do not count.
    let tmp = tempfile::tempdir().unwrap();
    let repo = fake_repo(tmp.path(), "quiet", "main");
    run(
        &env,
        "UTC",
        &event("Notification", "s", &repo, json!({"message": "hi"})),
    );
    let report: Value = serde_json::from_str(&stats(&env, &["--json"], None)).unwrap();
    assert_eq!(report["today"]["reps_total"], 0);
    assert_eq!(report["today"]["projects"], json!([]));
    let text = stats(&env, &[], None);
    assert!(text.contains("Reps      none"), "{text}");
    assert!(text.contains("Last set  none yet"), "{text}");
}
