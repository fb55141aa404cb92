//! Comparing what a step did with what its case expects, and showing the difference. Values
//! are shown in the case file's own TOML syntax, so a diff line can be pasted into the case,
//! and `--bless` writes exactly what a diff shows.

use std::collections::BTreeMap;

use similar::TextDiff;
use toml_edit::{Array, InlineTable, Value};

use super::StepResult;
use super::case::Expect;
use crate::metrics::{Op, Update};
use crate::plugin::Answer;

/// One field of `[step.expect]` that did not match.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// `updates`, `answer`, `error` or `state`.
    pub field: &'static str,
    /// Both sides as lines of TOML (or a short description), for a line diff.
    pub expected: String,
    pub actual: String,
}

impl Mismatch {
    /// The two sides as a unified diff, `-` expected, `+` actual.
    pub fn diff(&self) -> String {
        let diff = TextDiff::from_lines(&self.expected, &self.actual);
        let mut out = String::new();
        out.push_str(&format!("{} (- expected, + actual):\n", self.field));
        let mut unified = diff.unified_diff();
        unified.context_radius(1000).header("expected", "actual");
        out.push_str(&unified.to_string());
        out
    }
}

/// Compare a step's result with its expectations. Problems (a failed call, rejected updates,
/// an invalid manifest) always count, unless `error` expects them.
pub fn check(expect: &Expect, result: &StepResult) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(updates) = &expect.updates
        && !same_updates(updates, &result.updates)
    {
        out.push(Mismatch {
            field: "updates",
            expected: updates_text(updates),
            actual: updates_text(&result.updates),
        });
    }
    if let Some(answer) = &expect.answer
        && answer.as_ref() != result.answer.as_ref()
    {
        out.push(Mismatch {
            field: "answer",
            expected: answer_text(answer.as_ref()),
            actual: answer_text(result.answer.as_ref()),
        });
    }
    let expected_error = match &expect.error {
        Some(wanted)
            if !result.problems.iter().any(|p| {
                p.message.contains(wanted.as_str()) || p.reason.contains(wanted.as_str())
            }) =>
        {
            Some(format!("an error containing {wanted:?}\n"))
        }
        None if !result.problems.is_empty() => Some("(no error)\n".into()),
        _ => None,
    };
    if let Some(expected) = expected_error {
        out.push(Mismatch {
            field: "error",
            expected,
            actual: problems_text(result),
        });
    }
    if let Some(state) = &expect.state
        && state != &result.state
    {
        out.push(Mismatch {
            field: "state",
            expected: state_text(state),
            actual: state_text(&result.state),
        });
    }
    out
}

fn same_updates(a: &[Update], b: &[Update]) -> bool {
    // Plain `==` on f64: blessed values round-trip exactly, and hand-written decimals parse to
    // the same double the plugin computes for the same decimal.
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn problems_text(result: &StepResult) -> String {
    if result.problems.is_empty() {
        return "(no error)\n".into();
    }
    result
        .problems
        .iter()
        .map(|p| format!("{}: {}\n", p.reason, p.message))
        .collect()
}

fn updates_text(updates: &[Update]) -> String {
    if updates.is_empty() {
        return "(no updates)\n".into();
    }
    updates
        .iter()
        .map(|u| format!("{}\n", update_value(u)))
        .collect()
}

fn answer_text(answer: Option<&Answer>) -> String {
    let Some(a) = answer else {
        return "(no answer)\n".into();
    };
    let mut out = String::new();
    for (key, value) in answer_fields(a) {
        out.push_str(&format!("{key} = {}\n", Value::from(value)));
    }
    out
}

fn state_text(state: &BTreeMap<String, String>) -> String {
    if state.is_empty() {
        return "(empty)\n".into();
    }
    state
        .iter()
        .map(|(k, v)| {
            format!(
                "{} = {}\n",
                toml_edit::Key::new(k.as_str()).display_repr(),
                Value::from(v.as_str())
            )
        })
        .collect()
}

fn answer_fields(a: &Answer) -> Vec<(&'static str, &str)> {
    [
        ("system_message", &a.system_message),
        ("additional_context", &a.additional_context),
        ("block", &a.block),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// TOML values in the case file's syntax (used by the diffs above and by `--bless`).

/// `{ name = "…", labels = { … }, inc = 1.0 }`
pub fn update_value(u: &Update) -> Value {
    let mut t = InlineTable::new();
    t.insert("name", Value::from(u.family.as_str()));
    if !u.labels.is_empty() {
        let mut labels = InlineTable::new();
        for (k, v) in &u.labels {
            labels.insert(k, Value::from(v.as_str()));
        }
        t.insert("labels", Value::InlineTable(labels));
    }
    let (op, v) = match u.op {
        Op::Inc(v) => ("inc", v),
        Op::Set(v) => ("set", v),
        Op::Observe(v) => ("observe", v),
    };
    t.insert(op, Value::from(v));
    t.fmt();
    Value::InlineTable(t)
}

/// The updates as a TOML array, one update per line.
pub fn updates_value(updates: &[Update]) -> Value {
    let mut array = Array::new();
    for u in updates {
        let mut v = update_value(u);
        v.decor_mut().set_prefix("\n  ");
        v.decor_mut().set_suffix("");
        array.push_formatted(v);
    }
    if !updates.is_empty() {
        array.set_trailing_comma(true);
        array.set_trailing("\n");
    }
    Value::Array(array)
}

/// `{ block = "…" }`, or `{}` for no answer.
pub fn answer_value(answer: Option<&Answer>) -> Value {
    let mut t = InlineTable::new();
    if let Some(a) = answer {
        for (k, v) in answer_fields(a) {
            t.insert(k, Value::from(v));
        }
    }
    t.fmt();
    Value::InlineTable(t)
}

/// `{ "key" = "value", … }`
pub fn state_value(state: &BTreeMap<String, String>) -> InlineTable {
    let mut t = InlineTable::new();
    for (k, v) in state {
        t.insert(k, Value::from(v.as_str()));
    }
    t.fmt();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::CallError;

    fn upd(name: &str, labels: &[(&str, &str)], op: Op) -> Update {
        Update {
            family: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            op,
        }
    }

    fn result(updates: Vec<Update>) -> StepResult {
        StepResult {
            called: true,
            updates,
            ..Default::default()
        }
    }

    #[test]
    fn renders_case_syntax() {
        let u = upd(
            "reps_total",
            &[("exercise", "squats"), ("mode", "manual")],
            Op::Inc(10.0),
        );
        assert_eq!(
            update_value(&u).to_string(),
            r#"{ name = "reps_total", labels = { exercise = "squats", mode = "manual" }, inc = 10.0 }"#
        );
        assert_eq!(
            update_value(&upd("g", &[], Op::Set(1.5))).to_string(),
            r#"{ name = "g", set = 1.5 }"#
        );
        assert_eq!(answer_value(None).to_string(), "{}");
        let a = Answer {
            block: Some("no \"way\"".into()),
            ..Default::default()
        };
        assert_eq!(
            answer_value(Some(&a)).to_string(),
            r#"{ block = 'no "way"' }"#
        );
    }

    #[test]
    fn matching_step_has_no_mismatch() {
        let u = upd("a_total", &[], Op::Inc(1.0));
        let expect = Expect {
            updates: Some(vec![u.clone()]),
            answer: Some(None),
            error: None,
            state: Some(BTreeMap::new()),
        };
        assert!(check(&expect, &result(vec![u])).is_empty());
        // Keys left out are not checked.
        assert!(check(&Expect::default(), &result(vec![])).is_empty());
    }

    #[test]
    fn differences_are_unified_diffs() {
        let expect = Expect {
            updates: Some(vec![
                upd("a_total", &[], Op::Inc(1.0)),
                upd("b", &[("x", "1")], Op::Set(2.0)),
            ]),
            ..Default::default()
        };
        let got = result(vec![
            upd("a_total", &[], Op::Inc(1.0)),
            upd("b", &[("x", "1")], Op::Set(3.0)),
        ]);
        let m = check(&expect, &got);
        assert_eq!(m.len(), 1);
        let diff = m[0].diff();
        assert!(diff.contains("--- expected\n+++ actual\n"), "{diff}");
        assert!(
            diff.contains(" { name = \"a_total\", inc = 1.0 }\n"),
            "{diff}"
        );
        assert!(
            diff.contains("-{ name = \"b\", labels = { x = \"1\" }, set = 2.0 }\n"),
            "{diff}"
        );
        assert!(
            diff.contains("+{ name = \"b\", labels = { x = \"1\" }, set = 3.0 }\n"),
            "{diff}"
        );
    }

    #[test]
    fn problems_fail_unless_expected() {
        let mut r = result(vec![]);
        r.problems
            .push(CallError::new("error", "reps must be a number"));
        let m = check(&Expect::default(), &r);
        assert_eq!(m[0].field, "error");
        assert!(m[0].actual.contains("reps must be a number"));
        let expect = Expect {
            error: Some("must be a number".into()),
            ..Default::default()
        };
        assert!(check(&expect, &r).is_empty());
        let wrong = Expect {
            error: Some("timeout".into()),
            ..Default::default()
        };
        assert_eq!(check(&wrong, &r).len(), 1);
        let missing = Expect {
            error: Some("x".into()),
            ..Default::default()
        };
        assert!(
            check(&missing, &result(vec![]))[0]
                .actual
                .contains("(no error)")
        );
    }
}
