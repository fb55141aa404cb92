//! Adding hookmeter to Claude Code's `settings.json`, and taking it out again.
//!
//! Pure functions over the parsed settings, so every case is unit-tested without touching a
//! file; `cli::install` does the reading, backing up and writing.
//!
//! Claude Code's shape (hooks reference): `{"hooks": {"<Event>": [{"matcher": "Edit|Write",
//! "hooks": [{"type": "command", "command": "...", "timeout": 10, "async": true}]}]}}`.
//! Our handlers are recognised by their command (`<.../hookmeter> run ...`), so no marker key
//! is needed and a hand-written `hookmeter run` line is adopted rather than run twice.

use serde_json::{Map, Value, json};

use crate::plugin::Manifest;

/// Every hook event Claude Code 2.1.332 knows (tests/claude pins it), in its own order. A
/// plugin subscribed to `*` is registered for these, minus [`TAKEOVER_EVENTS`].
pub const CLAUDE_CODE_EVENTS: &[&str] = &[
    "Setup",
    "SessionStart",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "MessageDisplay",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "TeammateIdle",
    "Stop",
    "StopFailure",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "PreSkillShellCommand",
    "SessionEnd",
];

/// Events whose command hook *replaces* what Claude Code would do (a WorktreeCreate hook must
/// create the worktree and print its path). Registering hookmeter there by wildcard would
/// break worktrees, so `*` never expands to them; a plugin must name them.
pub const TAKEOVER_EVENTS: &[&str] = &["WorktreeCreate", "WorktreeRemove"];

/// Seconds Claude Code gives a synchronous hookmeter run before cancelling it. A run takes
/// milliseconds; this only bounds a wedged one (its default would be 600 s).
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// One hook entry hookmeter wants in the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub event: String,
    /// Claude Code matcher (`Bash`, `Edit|Write`); `None` matches everything.
    pub matcher: Option<String>,
    /// No plugin may answer this event: Claude Code runs the hook in the background and
    /// never waits for it.
    pub is_async: bool,
}

/// The entries for these plugins: one per Claude Code event any of them subscribes to, in
/// order of first subscription. Events Claude Code does not know (a plugin's own, sent by
/// another tool, see [`other_events`]) get no entry: Claude Code never sends them. Subscriptions to one event are merged, because two entries would
/// run hookmeter twice for one event and count it twice: the matcher is the union of theirs
/// (none if any has none), and the entry is synchronous if any of them may answer.
pub fn registrations<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> Vec<Registration> {
    // (event, matchers or None for "all", answers)
    let mut merged: Vec<(String, Option<Vec<String>>, bool)> = Vec::new();
    for manifest in manifests {
        for sub in &manifest.subscriptions {
            let events: Vec<&str> = if sub.event == "*" {
                CLAUDE_CODE_EVENTS
                    .iter()
                    .copied()
                    .filter(|e| !TAKEOVER_EVENTS.contains(e))
                    .collect()
            } else if CLAUDE_CODE_EVENTS.contains(&sub.event.as_str()) {
                vec![sub.event.as_str()]
            } else {
                vec![]
            };
            let names: Option<Vec<String>> = match sub.tool_matcher.as_deref().map(str::trim) {
                None | Some("") | Some("*") => None,
                Some(m) => Some(
                    m.split('|')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
            };
            for event in events {
                match merged.iter_mut().find(|(e, _, _)| e == event) {
                    None => merged.push((event.to_owned(), names.clone(), sub.answers)),
                    Some((_, matchers, answers)) => {
                        *answers |= sub.answers;
                        match (matchers.as_mut(), &names) {
                            (Some(have), Some(more)) => {
                                for m in more {
                                    if !have.contains(m) {
                                        have.push(m.clone());
                                    }
                                }
                            }
                            _ => *matchers = None,
                        }
                    }
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|(event, matchers, answers)| Registration {
            event,
            matcher: matchers.map(|m| m.join("|")),
            is_async: !answers,
        })
        .collect()
}

/// Events the plugins subscribe to that are not Claude Code hook events, so no entry runs
/// hookmeter for them (e.g. `ExerciseCompleted`, which other tools send).
pub fn other_events<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for manifest in manifests {
        for sub in &manifest.subscriptions {
            if sub.event != "*"
                && !CLAUDE_CODE_EVENTS.contains(&sub.event.as_str())
                && !found.contains(&sub.event)
            {
                found.push(sub.event.clone());
            }
        }
    }
    found
}

/// The hook command: the binary's absolute path, shell-quoted, then `run`, then any global
/// options the hook must repeat (e.g. `--config FILE`).
pub fn hook_command(binary: &str, extra_args: &[String]) -> String {
    let mut words = vec![shell_quote(binary), "run".to_owned()];
    words.extend(extra_args.iter().map(|a| shell_quote(a)));
    words.join(" ")
}

/// Quote a word for a POSIX shell (Claude Code runs `command` through bash).
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Split a command line the way a POSIX shell would for simple words (quotes and
/// backslashes); `None` if it uses anything fancier, which hookmeter never writes.
pub fn shell_words(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => w.push(ch),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        '$' | '`' => return None,
                        ch => w.push(ch),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`' => return None,
            ch => word.get_or_insert_with(String::new).push(ch),
        }
    }
    words.extend(word);
    Some(words)
}

/// The program of a hookmeter hook command (`/usr/bin/hookmeter` in
/// `/usr/bin/hookmeter run`), or `None` if the command is not one.
pub fn hookmeter_program(command: &str) -> Option<String> {
    let words = shell_words(command)?;
    let program = words.first()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    (base == "hookmeter" && words.get(1).map(String::as_str) == Some("run"))
        .then(|| program.clone())
}

/// Is this handler (one element of a group's `hooks`) one of ours?
fn is_ours(handler: &Value) -> bool {
    let Some(obj) = handler.as_object() else {
        return false;
    };
    if obj.get("type").and_then(Value::as_str) != Some("command") {
        return false;
    }
    let Some(command) = obj.get("command").and_then(Value::as_str) else {
        return false;
    };
    match obj.get("args").and_then(Value::as_array) {
        // Exec form: `command` is the executable, `args` its arguments.
        Some(args) => {
            let base = command.rsplit('/').next().unwrap_or(command);
            base == "hookmeter" && args.first().and_then(Value::as_str) == Some("run")
        }
        None => hookmeter_program(command).is_some(),
    }
}

/// Why a settings file cannot be changed. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("line {line}, column {column}: not valid JSON: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the top level is not a JSON object")]
    NotObject,
    #[error("\"hooks\" is not a JSON object")]
    HooksNotObject,
    #[error("\"hooks\".\"{0}\" is not a JSON array")]
    EventNotArray(String),
}

/// Parse a settings file's text; an empty (or all-whitespace) file is an empty object, as a
/// file Claude Code has not written yet.
pub fn parse(text: &str) -> Result<Value, SettingsError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| SettingsError::Json {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    if !value.is_object() {
        return Err(SettingsError::NotObject);
    }
    Ok(value)
}

/// serde_json's messages end in " at line L column C", which the error already says.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Settings as Claude Code writes them: two-space indent, a final newline. Keys keep their
/// order (serde_json's `preserve_order`).
pub fn render(settings: &Value) -> String {
    let mut text = serde_json::to_string_pretty(settings).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// What install or uninstall did to one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added(Registration),
    /// Our entry was there but different (another binary path, matcher, mode or timeout), or
    /// there was more than one.
    Updated(Registration),
    Removed {
        event: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let describe = |r: &Registration| {
            let matcher = r
                .matcher
                .as_deref()
                .map(|m| format!(" [{m}]"))
                .unwrap_or_default();
            let mode = if r.is_async {
                "async"
            } else {
                "sync: a plugin can answer it"
            };
            format!("{}{matcher} ({mode})", r.event)
        };
        match self {
            Change::Added(r) => write!(f, "added    {}", describe(r)),
            Change::Updated(r) => write!(f, "updated  {}", describe(r)),
            Change::Removed { event } => write!(f, "removed  {event}"),
        }
    }
}

/// The handler object hookmeter writes for one registration.
pub fn handler(reg: &Registration, command: &str, timeout_secs: u64) -> Value {
    let mut h = Map::new();
    h.insert("type".into(), json!("command"));
    h.insert("command".into(), json!(command));
    if reg.is_async {
        h.insert("async".into(), json!(true));
    }
    h.insert("timeout".into(), json!(timeout_secs));
    Value::Object(h)
}

fn group(reg: &Registration, command: &str, timeout_secs: u64) -> Value {
    let mut g = Map::new();
    if let Some(m) = &reg.matcher {
        g.insert("matcher".into(), json!(m));
    }
    g.insert("hooks".into(), json!([handler(reg, command, timeout_secs)]));
    Value::Object(g)
}

/// A group's matcher, `None` when it matches everything.
fn group_matcher(group: &Value) -> Option<&str> {
    group
        .get("matcher")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty() && *m != "*")
}

/// Make the settings hold exactly `regs` as hookmeter entries, leaving everything else as it
/// was: other hooks, other keys, their order. Returns what changed (empty: nothing to do).
pub fn install(
    settings: &mut Value,
    regs: &[Registration],
    command: &str,
    timeout_secs: u64,
) -> Result<Vec<Change>, SettingsError> {
    let root = settings.as_object_mut().ok_or(SettingsError::NotObject)?;
    let mut changes = Vec::new();
    if !root.contains_key("hooks") {
        if regs.is_empty() {
            return Ok(changes);
        }
        root.insert("hooks".into(), Value::Object(Map::new()));
    }
    let hooks = root
        .get_mut("hooks")
        .and_then(Value::as_object_mut)
        .ok_or(SettingsError::HooksNotObject)?;

    // Check before changing anything, so an error leaves the value as it was.
    for (event, groups) in hooks.iter() {
        let touched = regs.iter().any(|r| &r.event == event) || contains_ours(groups);
        if touched && !groups.is_array() {
            return Err(SettingsError::EventNotArray(event.clone()));
        }
    }

    let mut emptied: Vec<String> = Vec::new();
    for (event, groups) in hooks.iter_mut() {
        let Some(groups) = groups.as_array_mut() else {
            continue;
        };
        let wanted = regs.iter().find(|r| &r.event == event);
        let ours = our_positions(groups);
        match wanted {
            None if ours.is_empty() => {}
            None => {
                remove_positions(groups, &ours);
                if groups.is_empty() {
                    emptied.push(event.clone());
                }
                changes.push(Change::Removed {
                    event: event.clone(),
                });
            }
            Some(reg) => {
                let desired = handler(reg, command, timeout_secs);
                let up_to_date = ours.len() == 1 && {
                    let (g, h) = ours[0];
                    group_matcher(&groups[g]) == reg.matcher.as_deref()
                        && groups[g]["hooks"][h] == desired
                };
                if up_to_date {
                    continue;
                }
                if ours.is_empty() {
                    groups.push(group(reg, command, timeout_secs));
                    changes.push(Change::Added(reg.clone()));
                    continue;
                }
                // Keep the first entry's place: rewrite its group when the group is ours
                // alone, else take our handler out and put our group right after it.
                let (first_group, _) = ours[0];
                let fresh = group(reg, command, timeout_secs);
                let only_ours = groups[first_group]["hooks"]
                    .as_array()
                    .is_some_and(|h| h.iter().all(is_ours));
                if only_ours {
                    groups[first_group] = fresh;
                    let later: Vec<(usize, usize)> = ours
                        .iter()
                        .copied()
                        .filter(|&(g, _)| g != first_group)
                        .collect();
                    remove_positions(groups, &later);
                } else {
                    // Groups before `first_group` hold none of ours, so none of them goes.
                    remove_positions(groups, &ours);
                    groups.insert(first_group + 1, fresh);
                }
                changes.push(Change::Updated(reg.clone()));
            }
        }
    }
    for event in emptied {
        hooks.remove(&event);
    }
    for reg in regs {
        if !hooks.contains_key(&reg.event) {
            hooks.insert(
                reg.event.clone(),
                json!([group(reg, command, timeout_secs)]),
            );
            changes.push(Change::Added(reg.clone()));
        }
    }
    if hooks.is_empty() && changes.iter().any(|c| matches!(c, Change::Removed { .. })) {
        root.remove("hooks");
    }
    Ok(changes)
}

/// Take out every hookmeter entry, and the groups, event lists and `hooks` object that held
/// nothing else.
pub fn uninstall(settings: &mut Value) -> Result<Vec<Change>, SettingsError> {
    install(settings, &[], "", 0)
}

fn contains_ours(groups: &Value) -> bool {
    groups
        .as_array()
        .is_some_and(|g| !our_positions(g).is_empty())
}

/// (group index, handler index) of each of our handlers, in order.
fn our_positions(groups: &[Value]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        if let Some(handlers) = group.get("hooks").and_then(Value::as_array) {
            for (h, handler) in handlers.iter().enumerate() {
                if is_ours(handler) {
                    found.push((g, h));
                }
            }
        }
    }
    found
}

/// Remove these handlers; a group left with no handlers goes too (only ours were in it).
fn remove_positions(groups: &mut Vec<Value>, positions: &[(usize, usize)]) {
    let mut emptied = Vec::new();
    for &(g, h) in positions.iter().rev() {
        if let Some(handlers) = groups[g].get_mut("hooks").and_then(Value::as_array_mut) {
            handlers.remove(h);
            if handlers.is_empty() {
                emptied.push(g);
            }
        }
    }
    emptied.sort_unstable();
    emptied.dedup();
    for g in emptied.into_iter().rev() {
        groups.remove(g);
    }
}

/// A hookmeter entry found in a settings file, for `hookmeter doctor`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub event: String,
    pub matcher: Option<String>,
    pub command: String,
    /// The binary the command runs (`None` for a command hookmeter cannot parse).
    pub program: Option<String>,
    pub is_async: bool,
    pub timeout: Option<f64>,
}

/// Every hookmeter entry in the settings, in file order.
pub fn entries(settings: &Value) -> Vec<Entry> {
    let mut found = Vec::new();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else {
        return found;
    };
    for (event, groups) in hooks {
        let Some(groups) = groups.as_array() else {
            continue;
        };
        for group in groups {
            let Some(handlers) = group.get("hooks").and_then(Value::as_array) else {
                continue;
            };
            for h in handlers.iter().filter(|h| is_ours(h)) {
                let command = h["command"].as_str().unwrap_or_default().to_owned();
                let program = if h.get("args").is_some() {
                    Some(command.clone())
                } else {
                    hookmeter_program(&command)
                };
                found.push(Entry {
                    event: event.clone(),
                    matcher: group_matcher(group).map(str::to_owned),
                    program,
                    command,
                    is_async: h.get("async").and_then(Value::as_bool) == Some(true)
                        || h.get("asyncRewake").and_then(Value::as_bool) == Some(true),
                    timeout: h.get("timeout").and_then(Value::as_f64),
                });
            }
        }
    }
    found
}

/// A line diff of `old` → `new` in unified form (3 lines of context), for `--dry-run`.
/// Settings files are small, so a plain LCS table is fine; a huge one is shown whole.
pub fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    if a == b {
        return String::new();
    }
    if a.len().saturating_mul(b.len()) > 25_000_000 {
        out.push_str(&format!("@@ -1,{} +1,{} @@\n", a.len(), b.len()));
        a.iter().for_each(|l| out.push_str(&format!("-{l}\n")));
        b.iter().for_each(|l| out.push_str(&format!("+{l}\n")));
        return out;
    }
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', old line number, new line number, text).
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions first, as diff(1) shows them.
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    // Group changes closer than 2*CONTEXT lines into one hunk.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let old_count = hunk.iter().filter(|o| o.0 != '+').count();
        let new_count = hunk.iter().filter(|o| o.0 != '-').count();
        let old_start = hunk[0].1 + usize::from(old_count > 0);
        let new_start = hunk[0].2 + usize::from(new_count > 0);
        out.push_str(&format!(
            "@@ -{old_start},{old_count} +{new_start},{new_count} @@\n"
        ));
        for (op, _, _, text) in hunk {
            out.push_str(&format!("{op}{text}\n"));
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Subscription;

    const CMD: &str = "/opt/bin/hookmeter run";

    fn manifest(subs: &[(&str, Option<&str>, bool)]) -> Manifest {
        Manifest {
            name: "p".into(),
            version: "1".into(),
            subscriptions: subs
                .iter()
                .map(|(e, m, a)| Subscription {
                    event: (*e).into(),
                    tool_matcher: m.map(Into::into),
                    answers: *a,
                })
                .collect(),
            families: vec![],
        }
    }

    fn reg(event: &str, matcher: Option<&str>, is_async: bool) -> Registration {
        Registration {
            event: event.into(),
            matcher: matcher.map(Into::into),
            is_async,
        }
    }

    fn installed(text: &str, regs: &[Registration]) -> (Value, Vec<Change>) {
        let mut v = parse(text).unwrap();
        let changes = install(&mut v, regs, CMD, 10).unwrap();
        (v, changes)
    }

    #[test]
    fn registrations_merge_per_event() {
        let a = manifest(&[
            ("SessionStart", None, false),
            ("PostToolUse", Some("*"), false),
            ("PreToolUse", Some("Bash"), false),
        ]);
        let b = manifest(&[
            ("UserPromptSubmit", None, true),
            ("PreToolUse", Some("Edit|Write"), false),
            ("PreToolUse", Some("Bash"), true),
            ("PostToolUse", Some("Read"), false),
        ]);
        let regs = registrations([&a, &b]);
        assert_eq!(
            regs,
            vec![
                reg("SessionStart", None, true),
                reg("PostToolUse", None, true),
                reg("PreToolUse", Some("Bash|Edit|Write"), false),
                reg("UserPromptSubmit", None, false),
            ]
        );
    }

    #[test]
    fn wildcard_event_expands_to_claude_code_events_but_not_takeover_ones() {
        let regs = registrations([&manifest(&[
            ("*", None, false),
            ("Stop", None, true),
            ("ExerciseCompleted", None, false),
        ])]);
        let events: Vec<&str> = regs.iter().map(|r| r.event.as_str()).collect();
        assert!(events.contains(&"SessionEnd") && events.contains(&"PreToolUse"));
        assert!(!events.contains(&"WorktreeCreate") && !events.contains(&"WorktreeRemove"));
        assert_eq!(
            events.len(),
            CLAUDE_CODE_EVENTS.len() - TAKEOVER_EVENTS.len()
        );
        assert!(!regs.iter().find(|r| r.event == "Stop").unwrap().is_async);
        assert!(
            regs.iter()
                .find(|r| r.event == "SessionEnd")
                .unwrap()
                .is_async
        );
    }

    #[test]
    fn events_claude_code_does_not_send_get_no_entry() {
        let m = manifest(&[
            ("ExerciseCompleted", None, false),
            ("Stop", None, false),
            ("*", None, false),
        ]);
        let regs = registrations([&manifest(&[
            ("ExerciseCompleted", None, false),
            ("Stop", None, false),
        ])]);
        assert_eq!(regs, vec![reg("Stop", None, true)]);
        assert_eq!(other_events([&m]), vec!["ExerciseCompleted".to_owned()]);
    }

    #[test]
    fn commands_are_quoted_and_recognised() {
        assert_eq!(
            hook_command("/usr/bin/hookmeter", &[]),
            "/usr/bin/hookmeter run"
        );
        let odd = "/home/o'neil/my tools/hookmeter";
        let cmd = hook_command(odd, &["--config".into(), "/a b/c.toml".into()]);
        assert_eq!(
            cmd,
            r"'/home/o'\''neil/my tools/hookmeter' run --config '/a b/c.toml'"
        );
        assert_eq!(hookmeter_program(&cmd).as_deref(), Some(odd));
        assert_eq!(
            hookmeter_program("hookmeter run").as_deref(),
            Some("hookmeter")
        );
        assert_eq!(
            hookmeter_program("\"/x y/hookmeter\" run").as_deref(),
            Some("/x y/hookmeter")
        );
        assert_eq!(hookmeter_program("/usr/bin/hookmeter metrics"), None);
        assert_eq!(hookmeter_program("/usr/bin/hookmeter-old run"), None);
        assert_eq!(hookmeter_program("python3 hookmeter run"), None);
        assert_eq!(hookmeter_program("hookmeter run; rm -rf /"), None);
    }

    #[test]
    fn install_into_a_missing_or_empty_file() {
        let regs = [
            reg("SessionStart", None, true),
            reg("PreToolUse", Some("Bash"), false),
        ];
        let (v, changes) = installed("", &regs);
        assert_eq!(
            changes,
            vec![
                Change::Added(regs[0].clone()),
                Change::Added(regs[1].clone())
            ]
        );
        assert_eq!(
            v,
            json!({"hooks": {
                "SessionStart": [{"hooks": [{"type": "command", "command": CMD, "async": true, "timeout": 10}]}],
                "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": CMD, "timeout": 10}]}],
            }})
        );
    }

    #[test]
    fn install_keeps_other_hooks_keys_and_order() {
        let text = r#"{
  "model": "opus",
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}]
  },
  "permissions": {"allow": ["Bash(ls)"]},
  "env": {"A": "1"}
}"#;
        let regs = [
            reg("PreToolUse", Some("Bash"), false),
            reg("SessionEnd", None, true),
        ];
        let (v, changes) = installed(text, &regs);
        assert_eq!(changes.len(), 2);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["model", "hooks", "permissions", "env"]);
        let events: Vec<&String> = v["hooks"].as_object().unwrap().keys().collect();
        assert_eq!(events, ["Stop", "PreToolUse", "SessionEnd"]);
        assert_eq!(
            v["hooks"]["Stop"],
            json!([{"hooks": [{"type": "command", "command": "notify-send done"}]}])
        );
        // Ours is a group of its own, after the user's.
        assert_eq!(
            v["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "guard.sh"
        );
        assert_eq!(v["hooks"]["PreToolUse"][1]["hooks"][0]["command"], CMD);
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn install_twice_changes_nothing() {
        let regs = [
            reg("SessionStart", None, true),
            reg("UserPromptSubmit", None, false),
        ];
        let (mut v, _) = installed(r#"{"hooks": {"Stop": []}}"#, &regs);
        let before = render(&v);
        assert_eq!(install(&mut v, &regs, CMD, 10).unwrap(), vec![]);
        assert_eq!(render(&v), before);
    }

    #[test]
    fn install_updates_in_place_and_drops_duplicates_and_stale_events() {
        let text = r#"{"hooks": {
  "SessionStart": [
    {"hooks": [{"type": "command", "command": "echo first"}]},
    {"hooks": [{"type": "command", "command": "/old/path/hookmeter run"}]},
    {"hooks": [{"type": "command", "command": "echo last"}]},
    {"hooks": [{"type": "command", "command": "hookmeter run"}]}
  ],
  "Notification": [{"hooks": [{"type": "command", "command": "/old/path/hookmeter run", "async": true}]}]
}}"#;
        let regs = [reg("SessionStart", None, true)];
        let (v, changes) = installed(text, &regs);
        assert_eq!(
            changes,
            vec![
                Change::Updated(regs[0].clone()),
                Change::Removed {
                    event: "Notification".into()
                }
            ]
        );
        let commands: Vec<&str> = v["hooks"]["SessionStart"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["hooks"][0]["command"].as_str().unwrap())
            .collect();
        assert_eq!(commands, ["echo first", CMD, "echo last"]);
        assert!(v["hooks"].get("Notification").is_none());
    }

    #[test]
    fn install_changes_mode_and_matcher() {
        let (mut v, _) = installed("{}", &[reg("PreToolUse", Some("Bash"), true)]);
        let newer = [reg("PreToolUse", Some("Bash|Edit"), false)];
        assert_eq!(
            install(&mut v, &newer, CMD, 10).unwrap(),
            vec![Change::Updated(newer[0].clone())]
        );
        assert_eq!(
            v["hooks"]["PreToolUse"],
            json!([{"matcher": "Bash|Edit", "hooks": [{"type": "command", "command": CMD, "timeout": 10}]}])
        );
    }

    #[test]
    fn our_handler_sharing_a_group_with_another_is_moved_out() {
        let text = r#"{"hooks": {"Stop": [{"matcher": "x", "hooks": [
            {"type": "command", "command": "hookmeter run"}, {"type": "command", "command": "say hi"}]}]}}"#;
        let regs = [reg("Stop", None, false)];
        let (v, changes) = installed(text, &regs);
        assert_eq!(changes, vec![Change::Updated(regs[0].clone())]);
        assert_eq!(
            v["hooks"]["Stop"],
            json!([
                {"matcher": "x", "hooks": [{"type": "command", "command": "say hi"}]},
                {"hooks": [{"type": "command", "command": CMD, "timeout": 10}]},
            ])
        );
    }

    #[test]
    fn uninstall_removes_exactly_what_install_added() {
        let original = r#"{
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
  "theme": "dark"
}
"#;
        let regs = [
            reg("Stop", None, false),
            reg("SessionStart", None, true),
            reg("PostToolUse", Some("Bash"), true),
        ];
        let (mut v, _) = installed(original, &regs);
        let changes = uninstall(&mut v).unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(render(&v), original);

        // Into a file without hooks: the "hooks" object it created goes too.
        let (mut v, _) = installed("{\n  \"theme\": \"dark\"\n}\n", &regs);
        uninstall(&mut v).unwrap();
        assert_eq!(render(&v), "{\n  \"theme\": \"dark\"\n}\n");
        assert_eq!(uninstall(&mut v).unwrap(), vec![]);
    }

    #[test]
    fn invalid_files_are_reported_with_their_position() {
        let err = parse("{\n  \"hooks\": {,}\n}").unwrap_err();
        match err {
            SettingsError::Json { line, column, .. } => assert_eq!((line, column), (2, 13)),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse("[1]").unwrap_err(), SettingsError::NotObject);
        let mut v = parse(r#"{"hooks": []}"#).unwrap();
        assert_eq!(
            install(&mut v, &[reg("Stop", None, true)], CMD, 10).unwrap_err(),
            SettingsError::HooksNotObject
        );
        let mut v = parse(r#"{"hooks": {"Stop": {"x": 1}, "SessionEnd": []}}"#).unwrap();
        let before = v.clone();
        let err = install(
            &mut v,
            &[reg("SessionEnd", None, true), reg("Stop", None, true)],
            CMD,
            10,
        )
        .unwrap_err();
        assert_eq!(err, SettingsError::EventNotArray("Stop".into()));
        assert_eq!(v, before, "nothing changes on error");
    }

    #[test]
    fn entries_describe_what_is_installed() {
        let (v, _) = installed(
            "{}",
            &[
                reg("PreToolUse", Some("Bash"), false),
                reg("SessionEnd", None, true),
            ],
        );
        let found = entries(&v);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].event, "PreToolUse");
        assert_eq!(found[0].matcher.as_deref(), Some("Bash"));
        assert!(!found[0].is_async && found[1].is_async);
        assert_eq!(found[1].program.as_deref(), Some("/opt/bin/hookmeter"));
        assert_eq!(found[1].timeout, Some(10.0));
    }

    #[test]
    fn diff_shows_added_and_removed_lines() {
        let old = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        let new = "{\n  \"a\": 1,\n  \"b\": 3,\n  \"c\": 4\n}\n";
        let d = diff(old, new, "old", "new");
        assert!(d.starts_with("--- old\n+++ new\n@@ -1,4 +1,5 @@\n"), "{d}");
        assert!(
            d.contains("-  \"b\": 2\n+  \"b\": 3,\n+  \"c\": 4\n"),
            "{d}"
        );
        assert_eq!(diff(old, old, "old", "new"), "");
        let from_nothing = diff("", "{}\n", "old", "new");
        assert!(
            from_nothing.contains("@@ -0,0 +1,1 @@\n+{}\n"),
            "{from_nothing}"
        );
    }
}
