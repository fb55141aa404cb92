//! Fuzzing the hot path's pure stages with proptest (cargo fuzz needs a nightly toolchain):
//! event parsing, enrichment and answer building must never panic, whatever comes in.
//!
//! The corpus is the recorded Claude Code payloads in tests/fixtures/claude-code/ (committed):
//! the mutation targets start from them. Budget: `PROPTEST_CASES` (default 2,000 per target,
//! a few seconds); failures proptest finds are saved under host/tests/proptest-regressions/
//! and replayed first on every later run.

use std::path::{Path, PathBuf};

use hookmeter::event;
use hookmeter::output;
use hookmeter::plugin::Answer;
use proptest::prelude::*;
use serde_json::Value;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2_000);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/claude-code");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus is the recorded payloads in {}", dir.display());
    files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
}

/// A parse error is shown to the user as one stderr line.
fn check_parse(raw: String) {
    match event::parse(raw) {
        Ok(e) => assert!(!e.name.is_empty()),
        Err(err) => {
            let msg = err.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "error must be one line: {msg:?}");
        }
    }
}

/// One mutation of a real payload.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    FlipByte(usize, u8),
    Insert(usize, String),
    /// Replace the value of a top-level field with arbitrary JSON text.
    SetField(String, String),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fields = prop::sample::select(vec![
        "hook_event_name",
        "session_id",
        "cwd",
        "tool_name",
        "transcript_path",
        "prompt",
        "tool_input",
        "source",
    ]);
    let json_text = prop::sample::select(vec![
        "null", "1", "-1e400", "true", "[]", "{}", "\"\"", "\"x\"", "[[[[[[[[]]]]]]]]", "{\"a\":{\"b\":[1,2,{}]}}",
        "\"\\ud800\"", "\"\\u0000\"", "18446744073709551616",
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(|i| Mutation::Truncate(i.index(usize::MAX))),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        (any::<usize>(), ".{0,8}").prop_map(|(i, s)| Mutation::Insert(i, s)),
        (fields, json_text).prop_map(|(f, v)| Mutation::SetField(f.to_owned(), v.to_owned())),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(doc: &str, m: &Mutation) -> Vec<u8> {
    let mut bytes = doc.as_bytes().to_vec();
    let len = bytes.len().max(1);
    match m {
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::FlipByte(i, b) => {
            if !bytes.is_empty() {
                bytes[i % len] ^= b | 1;
            }
        }
        Mutation::Insert(i, s) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, s.bytes());
        }
        Mutation::SetField(field, value) => {
            // Only on a document that is still a JSON object; earlier mutations may have broken it.
            if let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(doc) {
                match serde_json::from_str::<Value>(value) {
                    Ok(v) => {
                        obj.insert(field.clone(), v);
                        bytes = serde_json::to_vec(&obj).unwrap();
                    }
                    // Text serde cannot hold as a value (a lone surrogate): splice it in raw.
                    Err(_) => bytes = format!("{{\"{field}\":{value},{}", &doc.trim_start()[1..]).into_bytes(),
                }
            }
        }
        Mutation::Delete(i, n) => {
            let at = i % len;
            let end = (at + n).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

/// What Claude Code reads from a hook answer, per event (its hooks reference).
fn check_answer(event_name: &str, json: &Value) {
    let obj = json.as_object().expect("an answer is a JSON object");
    assert!(!obj.is_empty());
    for key in obj.keys() {
        assert!(["systemMessage", "decision", "reason", "hookSpecificOutput"].contains(&key.as_str()), "unknown key {key}");
    }
    if obj.contains_key("decision") {
        assert!(["UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop"].contains(&event_name), "{event_name}: {json}");
        assert_eq!(obj["decision"], "block");
        assert!(obj["reason"].is_string());
    }
    if let Some(specific) = obj.get("hookSpecificOutput") {
        let specific = specific.as_object().unwrap();
        assert_eq!(specific["hookEventName"], event_name);
        for key in specific.keys() {
            let allowed = match key.as_str() {
                "hookEventName" => true,
                "additionalContext" => ["UserPromptSubmit", "SessionStart", "PostToolUse"].contains(&event_name),
                "permissionDecision" | "permissionDecisionReason" => event_name == "PreToolUse",
                _ => false,
            };
            assert!(allowed, "{event_name} takes no hookSpecificOutput.{key}: {json}");
        }
    }
    // It survives the trip through stdout.
    let text = serde_json::to_string(json).unwrap();
    assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), json);
}

fn answer() -> impl Strategy<Value = Answer> {
    let text = prop::option::of(prop_oneof![Just(String::new()), ".{0,40}", "\\PC{0,200}"]);
    (text.clone(), text.clone(), text).prop_map(|(system_message, additional_context, block)| Answer {
        system_message,
        additional_context,
        block,
    })
}

/// One entry of a random directory tree: a relative path and what is there.
#[derive(Debug, Clone)]
enum Node {
    Dir(String),
    GitDir(String, Vec<u8>),
    GitFile(String, Vec<u8>),
}

fn head_contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z/._-]{0,40}".prop_map(|b| format!("ref: refs/heads/{b}\n").into_bytes()),
        "[0-9a-f]{40}\n".prop_map(String::into_bytes),
        Just(b"ref: \n".to_vec()),
        Just(b"ref: refs/heads/\xff\xfe\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..200),
        Just(vec![b'a'; 10_000]),
    ]
}

fn tree() -> impl Strategy<Value = (Vec<Node>, String)> {
    let rel = "[a-c]{1,2}(/[a-c]{1,2}){0,3}";
    let node = prop_oneof![
        rel.prop_map(Node::Dir),
        (rel, head_contents()).prop_map(|(p, h)| Node::GitDir(p, h)),
        (rel, prop_oneof![
            "gitdir: [a-c/.]{0,20}\n".prop_map(String::into_bytes),
            Just(b"gitdir: /nonexistent\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..64),
        ])
            .prop_map(|(p, c)| Node::GitFile(p, c)),
    ];
    (prop::collection::vec(node, 0..8), rel)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_strings(raw in "\\PC{0,300}") {
        check_parse(raw);
    }

    #[test]
    fn read_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Err(err) = event::read(&bytes[..]) {
            prop_assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn parse_never_panics_on_mutated_real_payloads(index in any::<prop::sample::Index>(), ms in prop::collection::vec(mutation(), 1..4)) {
        let docs = corpus();
        let doc = index.get(&docs);
        let mut bytes = doc.as_bytes().to_vec();
        for m in &ms {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            bytes = apply(&text, m);
        }
        match String::from_utf8(bytes) {
            Ok(text) => check_parse(text),
            Err(e) => {
                let err = event::read(e.as_bytes()).unwrap_err();
                prop_assert!(!err.to_string().contains('\n'));
            }
        }
    }

    #[test]
    fn merge_gives_only_keys_claude_code_knows(
        event_name in prop_oneof![
            prop::sample::select(vec!["SessionStart", "SessionEnd", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                "Stop", "SubagentStop", "Notification", "PreCompact", "ExerciseCompleted"]).prop_map(str::to_owned),
            "\\PC{0,20}",
        ],
        answers in prop::collection::vec(("[a-z]{1,8}", answer()), 0..5),
    ) {
        let merged = output::merge(&event_name, &answers);
        if let Some(json) = &merged.json {
            check_answer(&event_name, json);
        }
        for note in &merged.dropped {
            prop_assert!(!note.contains('\n'));
        }
    }
}

proptest! {
    // Each case builds a directory tree on disk: a quarter of the budget keeps it to seconds.
    #![proptest_config(ProptestConfig { cases: config().cases / 4, ..config() })]

    #[test]
    fn enrich_never_panics_on_random_trees((nodes, start) in tree(), now in any::<u64>()) {
        let tmp = tempfile::tempdir().unwrap();
        for node in &nodes {
            let (path, git, contents) = match node {
                Node::Dir(p) => (p, None, None),
                Node::GitDir(p, head) => (p, Some(true), Some(head)),
                Node::GitFile(p, c) => (p, Some(false), Some(c)),
            };
            let dir = tmp.path().join(path);
            if std::fs::create_dir_all(&dir).is_err() {
                continue; // a .git file on the way
            }
            match (git, contents) {
                (Some(true), Some(head)) => {
                    if std::fs::create_dir_all(dir.join(".git")).is_ok() {
                        let _ = std::fs::write(dir.join(".git/HEAD"), head);
                    }
                }
                (Some(false), Some(c)) => {
                    let _ = std::fs::write(dir.join(".git"), c);
                }
                _ => {}
            }
        }
        let ctx = event::enrich(&tmp.path().join(&start), now);
        prop_assert!(!ctx.project.is_empty());
        prop_assert_eq!(ctx.now_ms, now);
    }
}
