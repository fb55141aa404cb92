//! `--bless`: rewrite each step's `[step.expect]` from what the plugin actually did. Only keys
//! whose expectation is wrong are touched (a step with no expectations gets them all), so
//! blessing a passing case changes nothing, and comments and layout everywhere else in the
//! file survive (toml_edit).

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::check::{answer_value, state_value, updates_value};
use super::{CaseReport, StepReport};

/// What blessing did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blessed {
    Unchanged,
    Rewritten,
}

/// Rewrite `report.path` so that its expectations match `report`'s results.
pub fn bless(report: &CaseReport) -> Result<Blessed, String> {
    let path = &report.path;
    if let Some(e) = &report.error {
        return Err(format!("cannot bless {}: {e}", path.display()));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let new = bless_text(&text, &report.steps)
        .map_err(|e| format!("cannot bless {}: {e}", path.display()))?;
    if new == text {
        return Ok(Blessed::Unchanged);
    }
    std::fs::write(path, new).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Blessed::Rewritten)
}

/// The case file `text` with each step's expectations replaced by `steps`' results.
pub fn bless_text(text: &str, steps: &[StepReport]) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let Some(tables) = doc.get_mut("step").and_then(Item::as_array_of_tables_mut) else {
        return Err("steps must be written as [[step]] tables to be blessed".into());
    };
    if tables.len() != steps.len() {
        return Err(format!(
            "the file has {} steps, the run had {}",
            tables.len(),
            steps.len()
        ));
    }
    for (table, step) in tables.iter_mut().zip(steps) {
        let inline = matches!(table.get("expect"), Some(Item::Value(_)));
        let expect = table.entry("expect").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(false);
            Item::Table(t)
        });
        let Some(expect) = expect.as_table_like_mut() else {
            return Err("[step.expect] must be a table".into());
        };
        bless_step(expect, step, inline);
    }
    Ok(doc.to_string())
}

fn bless_step(expect: &mut dyn TableLike, step: &StepReport, inline: bool) {
    let result = &step.result;
    // A step without expectations gets all of them; otherwise only the wrong ones are
    // rewritten: a key left out on purpose stays out.
    let fresh = expect.is_empty();
    let redo = |field: &str| fresh || step.mismatches.iter().any(|m| m.field == field);

    if redo("updates") {
        let mut v = updates_value(&result.updates);
        if inline {
            // A case written as `expect = { … }` stays on one line.
            if let Value::Array(a) = &mut v {
                a.fmt();
            }
        }
        set(expect, "updates", v);
    }
    if redo("answer") {
        set(expect, "answer", answer_value(result.answer.as_ref()));
    }
    if redo("error") {
        match result.problems.first() {
            None => {
                expect.remove("error");
            }
            Some(first) => set(expect, "error", Value::from(first.message.as_str())),
        }
    }
    if redo("state") && (!fresh || step.state_changed) {
        set(
            expect,
            "state",
            Value::InlineTable(state_value(&result.state)),
        );
    }
    if inline {
        // Old spacing (such as the blank before `}`) would now sit between keys.
        expect.fmt();
    }
}

/// Set `key` to `value`, keeping the old value's surrounding whitespace and trailing comment.
fn set(table: &mut dyn TableLike, key: &str, mut value: Value) {
    if let Some(Item::Value(old)) = table.get(key) {
        *value.decor_mut() = old.decor().clone();
    }
    match table.get_mut(key) {
        Some(item) => *item = Item::Value(value),
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::harness::StepResult;
    use crate::harness::check::Mismatch;
    use crate::metrics::{Op, Update};
    use crate::plugin::{Answer, CallError};

    fn step(result: StepResult, mismatched: &[&'static str], state_changed: bool) -> StepReport {
        StepReport {
            event: "E".into(),
            mismatches: mismatched
                .iter()
                .map(|f| Mismatch {
                    field: f,
                    expected: String::new(),
                    actual: String::new(),
                })
                .collect(),
            state_changed,
            result,
        }
    }

    const CASE: &str = r#"# A case about squats.
description = "logs reps"

[[step]]
# The user logs a set.
[step.event]
hook_event_name = "UserPromptSubmit"
[step.expect]
# Only the first update matters here.
updates = []   # keep this comment
answer = {}

[[step]]
[step.event]
hook_event_name = "Stop"
"#;

    #[test]
    fn rewrites_only_wrong_keys_and_keeps_comments() {
        let first = StepResult {
            called: true,
            updates: vec![Update {
                family: "reps_total".into(),
                labels: vec![("x".into(), "1".into())],
                op: Op::Inc(10.0),
            }],
            answer: None,
            ..Default::default()
        };
        let mut state = BTreeMap::new();
        state.insert("last".to_string(), "squats".to_string());
        let second = StepResult {
            called: true,
            answer: Some(Answer {
                system_message: Some("Time for 10 squats".into()),
                ..Default::default()
            }),
            problems: vec![CallError::new("error", "bad reps")],
            state,
            ..Default::default()
        };
        let out = bless_text(
            CASE,
            &[step(first, &["updates"], false), step(second, &[], true)],
        )
        .unwrap();
        let expected = r#"# A case about squats.
description = "logs reps"

[[step]]
# The user logs a set.
[step.event]
hook_event_name = "UserPromptSubmit"
[step.expect]
# Only the first update matters here.
updates = [
  { name = "reps_total", labels = { x = "1" }, inc = 10.0 },
]   # keep this comment
answer = {}

[[step]]
[step.event]
hook_event_name = "Stop"

[step.expect]
updates = []
answer = { system_message = "Time for 10 squats" }
error = "bad reps"
state = { last = "squats" }
"#;
        assert_eq!(out, expected);
        // The blessed text parses as a case with those expectations.
        let case = crate::harness::case::parse(std::path::Path::new("c.toml"), &out).unwrap();
        assert_eq!(case.steps[1].expect.error.as_deref(), Some("bad reps"));
        // Blessing a matching case again changes nothing.
        let again = bless_text(
            &out,
            &[
                step(StepResult::default(), &[], false),
                step(StepResult::default(), &[], false),
            ],
        );
        assert_eq!(again.unwrap(), out);
        // An error that no longer happens is removed; keys left out stay out.
        let fixed = bless_text(
            &out,
            &[
                step(StepResult::default(), &[], false),
                step(StepResult::default(), &["error"], false),
            ],
        );
        let fixed = fixed.unwrap();
        assert!(
            !fixed.contains("error =") && fixed.contains("state = { last"),
            "{fixed}"
        );
    }

    #[test]
    fn inline_expect_stays_inline() {
        let text = "[[step]]\nevent = { hook_event_name = \"Stop\" }\nexpect = { updates = [] }\n";
        let r = StepResult {
            updates: vec![Update {
                family: "a_total".into(),
                labels: vec![],
                op: Op::Inc(1.0),
            }],
            ..Default::default()
        };
        let out = bless_text(text, &[step(r, &["updates"], false)]).unwrap();
        assert_eq!(
            out,
            "[[step]]\nevent = { hook_event_name = \"Stop\" }\nexpect = { updates = [{ name = \"a_total\", inc = 1.0 }] }\n"
        );
    }
}
