//! hookmeter's log: `hookmeter.log` in the state dir. Lines are buffered during a run and
//! appended in one write at the end, so concurrent hook processes never interleave halves of
//! lines; the file is rotated to `hookmeter.log.1` past 4 MiB.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

pub const LOG_FILE: &str = "hookmeter.log";
const ROTATE_BYTES: u64 = 4 << 20;

struct Buffer {
    min: Level,
    lines: Vec<String>,
    echo: bool,
}

static BUFFER: Mutex<Buffer> = Mutex::new(Buffer { min: Level::Info, lines: Vec::new(), echo: false });

/// Set the minimum level, and whether lines are also echoed to stderr (for interactive
/// commands; never for `run`, whose stderr Claude Code may show).
pub fn configure(min: Level, echo: bool) {
    let mut b = BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    b.min = min;
    b.echo = echo;
}

pub fn write(level: Level, component: &str, message: &str) {
    let mut b = BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    if level < b.min {
        return;
    }
    if b.echo {
        eprintln!("hookmeter: {component}: {message}");
    }
    let ts = crate::event::now_ms();
    let pid = std::process::id();
    // Each entry is one line: newlines a plugin logged are shown as \n.
    let message = message.replace('\n', "\\n");
    b.lines.push(format!("{ts} {pid} {} [{component}] {message}\n", level.as_str()));
}

/// Append the buffered lines to the log in `state_dir`. Errors here are ignored: losing a log
/// line must never fail a hook.
pub fn flush(state_dir: &Path) {
    let lines = std::mem::take(&mut BUFFER.lock().unwrap_or_else(|e| e.into_inner()).lines);
    if lines.is_empty() {
        return;
    }
    let path = state_dir.join(LOG_FILE);
    if std::fs::metadata(&path).map(|m| m.len() > ROTATE_BYTES).unwrap_or(false) {
        let _ = std::fs::rename(&path, state_dir.join(format!("{LOG_FILE}.1")));
    }
    let text: String = lines.concat();
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = f.write_all(text.as_bytes());
    }
}
