//! The first stage: one hook event read from stdin, checked, and enriched with the facts
//! plugins may not look up themselves (project, branch, host, time).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::git;

/// Claude Code's payloads are small; this bound keeps a runaway producer from using all memory.
pub const MAX_STDIN_BYTES: usize = 32 * 1024 * 1024;

/// Why stdin is not a hook event. Each message says what was wrong and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot read stdin: {0}")]
    Read(#[from] std::io::Error),
    #[error("stdin is empty: expected one hook event as a JSON object")]
    Empty,
    #[error("stdin is larger than {} MiB: expected one hook event", MAX_STDIN_BYTES >> 20)]
    TooLarge,
    #[error("stdin is not valid UTF-8 (byte {0}): expected one hook event as JSON")]
    NotUtf8(usize),
    #[error("stdin is not valid JSON ({0}): expected one hook event as a JSON object")]
    NotJson(serde_json::Error),
    #[error("stdin is JSON {0}, not an object: expected one hook event as a JSON object")]
    NotObject(&'static str),
    #[error("the event has no \"hook_event_name\" field: expected e.g. {{\"hook_event_name\":\"SessionStart\", ...}}")]
    NoName,
    #[error("the event's \"{field}\" field is {found}, expected {expected}")]
    WrongType { field: &'static str, expected: &'static str, found: &'static str },
}

/// One hook event as Claude Code (or another tool) sent it.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub session_id: String,
    pub cwd: String,
    pub tool_name: Option<String>,
    /// The payload exactly as received.
    pub raw: String,
    pub fields: Map<String, Value>,
}

/// What the host works out once per run and hands to every plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub project: String,
    pub branch: Option<String>,
    pub host: String,
    pub now_ms: u64,
}

/// Read stdin up to [`MAX_STDIN_BYTES`] and parse it.
pub fn read(mut input: impl Read) -> Result<Event, EventError> {
    let mut bytes = Vec::new();
    input.by_ref().take(MAX_STDIN_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_STDIN_BYTES {
        return Err(EventError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|e| EventError::NotUtf8(e.utf8_error().valid_up_to()))?;
    parse(text)
}

/// Parse one event. Unknown events and fields are normal (Claude Code adds them); only the
/// fields hookmeter reads are type-checked.
pub fn parse(raw: String) -> Result<Event, EventError> {
    if raw.trim().is_empty() {
        return Err(EventError::Empty);
    }
    let value: Value = serde_json::from_str(&raw).map_err(EventError::NotJson)?;
    let Value::Object(fields) = value else {
        return Err(EventError::NotObject(json_type(&value)));
    };
    let name = match fields.get("hook_event_name") {
        None | Some(Value::Null) => return Err(EventError::NoName),
        Some(_) => string_field(&fields, "hook_event_name")?.unwrap_or_default(),
    };
    if name.is_empty() {
        return Err(EventError::NoName);
    }
    let session_id = string_field(&fields, "session_id")?.unwrap_or_default();
    let cwd = string_field(&fields, "cwd")?.unwrap_or_default();
    let tool_name = string_field(&fields, "tool_name")?;
    string_field(&fields, "transcript_path")?;
    Ok(Event { name, session_id, cwd, tool_name, raw, fields })
}

fn string_field(fields: &Map<String, Value>, field: &'static str) -> Result<Option<String>, EventError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(EventError::WrongType { field, expected: "a string", found: json_type(other) }),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Event {
    /// The directory the event happened in: its `cwd`, else this process's.
    pub fn dir(&self) -> PathBuf {
        if self.cwd.is_empty() {
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
        } else {
            PathBuf::from(&self.cwd)
        }
    }
}

/// Work out project, branch, host and time for an event in `dir`.
pub fn enrich(dir: &Path, now_ms: u64) -> Context {
    let repo = git::Repo::discover(dir);
    let project = repo
        .as_ref()
        .and_then(git::Repo::project_name)
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    let branch = repo.as_ref().and_then(git::Repo::branch);
    Context { project, branch, host: host_name(), now_ms }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// This machine's host name (`gethostname(2)`), or "localhost" if it has none.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call; gethostname
    // writes at most `len` bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_owned(),
        _ => "localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> String {
        read(input).unwrap_err().to_string()
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(b"").contains("empty"));
        assert!(err(b"  \n").contains("empty"));
        assert!(err(b"{\"hook_event_name\":").contains("not valid JSON"));
        assert!(err(b"[1,2]").contains("an array, not an object"));
        assert!(err(b"\xff\xfe").contains("UTF-8"));
        assert!(err(b"{}").contains("hook_event_name"));
        assert!(err(br#"{"hook_event_name":7}"#).contains("\"hook_event_name\" field is a number"));
        assert!(err(br#"{"hook_event_name":"Stop","cwd":["/"]}"#).contains("\"cwd\" field is an array"));
    }

    #[test]
    fn huge_input_is_refused() {
        let big = vec![b' '; MAX_STDIN_BYTES + 10];
        assert!(err(&big).contains("larger than 32 MiB"));
    }

    #[test]
    fn unknown_events_and_fields_are_fine() {
        let e = read(&br#"{"hook_event_name":"FutureThing","new_field":{"x":1},"session_id":"s"}"#[..]).unwrap();
        assert_eq!(e.name, "FutureThing");
        assert_eq!(e.session_id, "s");
        assert_eq!(e.tool_name, None);
    }
}
