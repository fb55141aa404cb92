//! The fourth stage: merge what the plugins said into the one JSON answer Claude Code expects
//! for the event (see Claude Code's hooks reference), or nothing when no plugin spoke.

use serde_json::{Map, Value, json};

use crate::plugin::Answer;

/// Events whose `hookSpecificOutput.additionalContext` Claude Code reads.
const CONTEXT_EVENTS: &[&str] = &["UserPromptSubmit", "SessionStart", "PostToolUse"];
/// Events a plugin can block, and how.
fn block_style(event: &str) -> Option<BlockStyle> {
    match event {
        "PreToolUse" => Some(BlockStyle::PermissionDeny),
        "UserPromptSubmit" | "PostToolUse" | "Stop" | "SubagentStop" => Some(BlockStyle::Decision),
        _ => None,
    }
}

enum BlockStyle {
    /// `hookSpecificOutput.permissionDecision = "deny"` with a reason.
    PermissionDeny,
    /// Top-level `decision = "block"` with a reason.
    Decision,
}

/// The merged answer, and notes on anything that had to be dropped.
pub struct Merged {
    pub json: Option<Value>,
    pub dropped: Vec<String>,
}

/// Merge answers in plugin order: messages and contexts are joined by newlines, the first
/// block wins (a block always beats no block).
pub fn merge(event: &str, answers: &[(String, Answer)]) -> Merged {
    let mut messages = Vec::new();
    let mut contexts = Vec::new();
    let mut block: Option<&str> = None;
    let mut dropped = Vec::new();
    for (plugin, answer) in answers {
        if let Some(m) = answer.system_message.as_deref().filter(|m| !m.is_empty()) {
            messages.push(m);
        }
        if let Some(c) = answer.additional_context.as_deref().filter(|c| !c.is_empty()) {
            if CONTEXT_EVENTS.contains(&event) {
                contexts.push(c);
            } else {
                dropped.push(format!("plugin {plugin}: {event} takes no additionalContext"));
            }
        }
        if let Some(reason) = answer.block.as_deref() {
            if block_style(event).is_none() {
                dropped.push(format!("plugin {plugin}: {event} cannot be blocked"));
            } else if block.is_none() {
                block = Some(reason);
            }
        }
    }
    let mut out = Map::new();
    let mut specific = Map::new();
    if !messages.is_empty() {
        out.insert("systemMessage".into(), Value::String(messages.join("\n")));
    }
    if !contexts.is_empty() {
        specific.insert("additionalContext".into(), Value::String(contexts.join("\n")));
    }
    if let Some(reason) = block {
        match block_style(event) {
            Some(BlockStyle::PermissionDeny) => {
                specific.insert("permissionDecision".into(), json!("deny"));
                specific.insert("permissionDecisionReason".into(), json!(reason));
            }
            Some(BlockStyle::Decision) => {
                out.insert("decision".into(), json!("block"));
                out.insert("reason".into(), json!(reason));
            }
            None => {}
        }
    }
    if !specific.is_empty() {
        specific.insert("hookEventName".into(), json!(event));
        out.insert("hookSpecificOutput".into(), Value::Object(specific));
    }
    Merged { json: (!out.is_empty()).then_some(Value::Object(out)), dropped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(msg: Option<&str>, ctx: Option<&str>, block: Option<&str>) -> Answer {
        Answer {
            system_message: msg.map(Into::into),
            additional_context: ctx.map(Into::into),
            block: block.map(Into::into),
        }
    }

    #[test]
    fn silence_prints_nothing() {
        assert!(merge("Stop", &[]).json.is_none());
        assert!(merge("Stop", &[("p".into(), a(None, None, None))]).json.is_none());
    }

    #[test]
    fn prompt_block_and_messages() {
        let m = merge(
            "UserPromptSubmit",
            &[
                ("a".into(), a(Some("one"), Some("ctx"), None)),
                ("b".into(), a(Some("two"), None, Some("Logged 10 squats"))),
            ],
        );
        assert_eq!(
            m.json.unwrap(),
            json!({"systemMessage":"one\ntwo","decision":"block","reason":"Logged 10 squats",
                   "hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"ctx"}})
        );
    }

    #[test]
    fn pre_tool_use_denies() {
        let m = merge("PreToolUse", &[("a".into(), a(None, None, Some("no")))]);
        assert_eq!(
            m.json.unwrap(),
            json!({"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"no"}})
        );
    }

    #[test]
    fn unsupported_parts_are_dropped_with_a_note() {
        let m = merge("SessionEnd", &[("a".into(), a(Some("bye"), Some("x"), Some("y")))]);
        assert_eq!(m.json.unwrap(), json!({"systemMessage":"bye"}));
        assert_eq!(m.dropped.len(), 2);
    }
}
