//! Case files: one TOML file per behaviour of a plugin. A case gives the plugin's config and
//! state before, then steps, each an event (as Claude Code sends it), an optional context and
//! what to expect. The format is documented in `docs/writing-plugins.md`; this module is its
//! reference: unknown keys are errors, so a typo cannot turn a check off silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::event::Context;
use crate::metrics::{Op, Update};
use crate::plugin::Answer;

/// The context a step gets when it gives none (or leaves keys out).
pub const DEFAULT_PROJECT: &str = "project";
pub const DEFAULT_BRANCH: &str = "main";
pub const DEFAULT_HOST: &str = "host";
/// 2023-11-14T22:13:20Z: a fixed time, so cases do not depend on when they run.
pub const DEFAULT_NOW_MS: u64 = 1_700_000_000_000;

/// The context used when a step gives none: project "project", branch "main", host "host",
/// time [`DEFAULT_NOW_MS`].
pub fn default_context() -> Context {
    Context {
        project: DEFAULT_PROJECT.into(),
        branch: Some(DEFAULT_BRANCH.into()),
        host: DEFAULT_HOST.into(),
        now_ms: DEFAULT_NOW_MS,
    }
}

/// One parsed case file.
#[derive(Debug, Clone)]
pub struct Case {
    pub path: PathBuf,
    pub description: String,
    /// The plugin's `[plugins.NAME]` table, as a user would write it in config.toml.
    pub config: toml::Table,
    /// Plugin state before the first step.
    pub state: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The hook payload as JSON text, exactly what `hookmeter run` would read on stdin.
    pub event_json: String,
    pub context: Context,
    pub expect: Expect,
}

/// What a step must produce. `None` fields are not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// Exactly these accepted updates, in order (labels sorted by name).
    pub updates: Option<Vec<Update>>,
    /// `Some(None)`: no answer at all (`answer = {}`).
    pub answer: Option<Option<Answer>>,
    /// The call fails, or an update is rejected, with a message containing this text.
    pub error: Option<String>,
    /// The plugin's whole state after the step.
    pub state: Option<BTreeMap<String, String>>,
}

// The file as written; converted into the types above after the checks serde cannot make.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    config: toml::Table,
    #[serde(default)]
    state: BTreeMap<String, String>,
    #[serde(default)]
    step: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    event: Option<toml::Table>,
    #[serde(default)]
    context: ContextFile,
    #[serde(default)]
    expect: ExpectFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    project: Option<String>,
    branch: Option<String>,
    host: Option<String>,
    now_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    updates: Option<Vec<UpdateFile>>,
    answer: Option<AnswerFile>,
    error: Option<String>,
    state: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateFile {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    inc: Option<f64>,
    set: Option<f64>,
    observe: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    system_message: Option<String>,
    additional_context: Option<String>,
    block: Option<String>,
}

/// Read and check one case file. The error names the file and says what to fix.
pub fn load(path: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(path, &text)
}

/// Parse case `text`; `path` is only used in messages and kept in the result.
pub fn parse(path: &Path, text: &str) -> Result<Case, String> {
    let file: CaseFile = toml::from_str(text)
        .map_err(|e| format!("{} is not a valid case file: {e}", path.display()))?;
    if file.step.is_empty() {
        return Err(format!(
            "{}: no steps; add at least one [[step]] with a [step.event] table",
            path.display()
        ));
    }
    let mut steps = Vec::with_capacity(file.step.len());
    for (i, step) in file.step.into_iter().enumerate() {
        let at = |what: &str| format!("{}: step {}: {what}", path.display(), i + 1);
        let Some(event) = step.event else {
            return Err(at(
                "no [step.event] table: give the hook payload, e.g. hook_event_name = \"Stop\"",
            ));
        };
        let json = table_to_json(event).map_err(|e| at(&format!("[step.event]: {e}")))?;
        let event_json = serde_json::to_string(&json).expect("JSON values serialise");
        let c = step.context;
        let context = Context {
            project: c.project.unwrap_or_else(|| DEFAULT_PROJECT.into()),
            // "" stands for "no branch" (outside a repository, or a detached HEAD).
            branch: match c.branch {
                None => Some(DEFAULT_BRANCH.into()),
                Some(b) if b.is_empty() => None,
                Some(b) => Some(b),
            },
            host: c.host.unwrap_or_else(|| DEFAULT_HOST.into()),
            now_ms: c.now_ms.unwrap_or(DEFAULT_NOW_MS),
        };
        let e = step.expect;
        let updates = match e.updates {
            None => None,
            Some(list) => Some(
                list.into_iter()
                    .enumerate()
                    .map(|(j, u)| {
                        update(u).map_err(|m| at(&format!("[step.expect] updates[{j}]: {m}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let answer = e.answer.map(|a| {
            let answer = Answer {
                system_message: a.system_message,
                additional_context: a.additional_context,
                block: a.block,
            };
            (answer != Answer::default()).then_some(answer)
        });
        steps.push(Step {
            event_json,
            context,
            expect: Expect {
                updates,
                answer,
                error: e.error,
                state: e.state,
            },
        });
    }
    Ok(Case {
        path: path.to_owned(),
        description: file.description,
        config: file.config,
        state: file.state,
        steps,
    })
}

fn update(u: UpdateFile) -> Result<Update, String> {
    let op = match (u.inc, u.set, u.observe) {
        (Some(v), None, None) => Op::Inc(v),
        (None, Some(v), None) => Op::Set(v),
        (None, None, Some(v)) => Op::Observe(v),
        _ => {
            return Err(format!(
                "{:?} needs exactly one of inc, set or observe",
                u.name
            ));
        }
    };
    Ok(Update {
        family: u.name,
        labels: u.labels.into_iter().collect(),
        op,
    })
}

/// TOML → JSON for an event payload. Dates have no JSON form, so they become the strings they
/// are written as (Claude Code sends none; a custom event might).
pub fn table_to_json(table: toml::Table) -> Result<serde_json::Value, String> {
    let mut map = serde_json::Map::new();
    for (k, v) in table {
        let value = value_to_json(v).map_err(|e| format!("{k}: {e}"))?;
        map.insert(k, value);
    }
    Ok(serde_json::Value::Object(map))
}

fn value_to_json(value: toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => {
            J::from(serde_json::Number::from_f64(f).ok_or_else(|| format!("{f} has no JSON form"))?)
        }
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(
            items
                .into_iter()
                .map(value_to_json)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => table_to_json(t)?,
    })
}

/// Every `*.toml` file under `paths` (files are taken as given; directories are walked
/// recursively), sorted within each directory so runs are repeatable.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                return Err(format!("{} holds no case files (*.toml)", path.display()));
            }
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
description = "logs reps"
[config]
cooldown_minutes = 20
[state]
"last" = "squats"

[[step]]
[step.event]
hook_event_name = "UserPromptSubmit"
session_id = "s1"
nested = { a = [1, 2.5, true] }
[step.context]
branch = ""
now_ms = 5
[step.expect]
updates = [
  { name = "reps_total", labels = { mode = "manual", exercise = "squats" }, inc = 10 },
  { name = "last", set = 1.5 },
]
answer = { block = "Logged" }
state = { "k" = "v" }

[[step]]
event = { hook_event_name = "Stop" }
expect = { answer = {}, error = "boom" }
"#;

    #[test]
    fn parses_every_key() {
        let case = parse(Path::new("c.toml"), FULL).unwrap();
        assert_eq!(case.description, "logs reps");
        assert_eq!(case.config["cooldown_minutes"].as_integer(), Some(20));
        assert_eq!(case.state["last"], "squats");
        let s = &case.steps[0];
        let json: serde_json::Value = serde_json::from_str(&s.event_json).unwrap();
        assert_eq!(json["nested"]["a"], serde_json::json!([1, 2.5, true]));
        assert_eq!(s.context.branch, None);
        assert_eq!(s.context.project, "project");
        assert_eq!(s.context.now_ms, 5);
        let updates = s.expect.updates.as_ref().unwrap();
        assert_eq!(
            updates[0].labels,
            vec![
                ("exercise".into(), "squats".into()),
                ("mode".into(), "manual".into())
            ]
        );
        assert_eq!(updates[0].op, Op::Inc(10.0));
        assert_eq!(updates[1].op, Op::Set(1.5));
        assert_eq!(
            s.expect.answer,
            Some(Some(Answer {
                block: Some("Logged".into()),
                ..Default::default()
            }))
        );
        let second = &case.steps[1];
        assert_eq!(second.context, default_context());
        assert_eq!(second.expect.answer, Some(None));
        assert_eq!(second.expect.error.as_deref(), Some("boom"));
        assert_eq!(second.expect.updates, None);
    }

    #[test]
    fn mistakes_are_named() {
        let typo = "[[steps]]\n[steps.event]\nhook_event_name = \"Stop\"\n";
        assert!(
            parse(Path::new("c.toml"), typo)
                .unwrap_err()
                .contains("steps")
        );
        let no_steps = "description = \"x\"\n";
        assert!(
            parse(Path::new("c.toml"), no_steps)
                .unwrap_err()
                .contains("no steps")
        );
        let two_ops = "[[step]]\nevent = { hook_event_name = \"Stop\" }\nexpect = { updates = [{ name = \"a\", inc = 1, set = 2 }] }\n";
        let e = parse(Path::new("c.toml"), two_ops).unwrap_err();
        assert!(
            e.contains("step 1") && e.contains("exactly one of inc, set or observe"),
            "{e}"
        );
        let bad_expect =
            "[[step]]\nevent = { hook_event_name = \"Stop\" }\nexpect = { update = [] }\n";
        assert!(
            parse(Path::new("c.toml"), bad_expect)
                .unwrap_err()
                .contains("update")
        );
        let no_event = "[[step]]\nexpect = { updates = [] }\n";
        assert!(
            parse(Path::new("c.toml"), no_event)
                .unwrap_err()
                .contains("[step.event]")
        );
    }
}
