//! When a hook run starts a flush, and how it starts one without waiting for it.

use std::path::Path;
use std::process::{Command, Stdio};

use super::record::{LAST_SPAWN_MS, PUSHED_GENERATION, txn_number};
use crate::config::PushConfig;
use crate::store::{StoreError, Txn};

/// Events after which Claude Code may sit idle for long: push what the turn or session did now
/// rather than at the next event.
const PUSH_NOW_EVENTS: &[&str] = &["Stop", "SessionEnd"];

/// Inside the run's transaction: is a flush due? It is when pushing is on, something is not
/// pushed yet, and either the interval has elapsed since a run last started a flush or the
/// event ends a turn or session. A due flush is claimed (its start time recorded) in the same
/// transaction, so of several concurrent runs only one starts it.
pub fn claim_due_flush(txn: &mut Txn<'_>, push: &PushConfig, event: &str, now_ms: u64) -> Result<bool, StoreError> {
    if push.url.as_deref().is_none_or(|u| u.trim().is_empty()) {
        return Ok(false);
    }
    let pending = txn.changed() || txn_number(txn, PUSHED_GENERATION)? != Some(txn.generation()?);
    if !pending {
        return Ok(false);
    }
    let interval_ms = push.interval_seconds.saturating_mul(1000);
    let interval_elapsed = match txn_number(txn, LAST_SPAWN_MS)? {
        None => true,
        // A clock that went back must not silence pushing until it catches up.
        Some(last) => now_ms < last || now_ms - last >= interval_ms,
    };
    if !interval_elapsed && !PUSH_NOW_EVENTS.contains(&event) {
        return Ok(false);
    }
    txn.set_meta(LAST_SPAWN_MS, &now_ms.to_string())?;
    Ok(true)
}

/// Start `hookmeter flush --background` detached from this run and do not wait for it.
///
/// Claude Code waits for the hook's stdout and stderr to close, so the child gets /dev/null
/// for all three; it runs in a session of its own (`setsid`), so a signal Claude Code sends the
/// hook's process group on a timeout does not reach it, nor does a hang-up of the terminal.
/// It finds the same config and store through the environment: `HOOKMETER_CONFIG` and
/// `HOOKMETER_STATE_DIR` are set to what this run resolved.
pub fn spawn_background_flush(state_dir: &Path, config_file: Option<&Path>) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["flush", "--background"])
        .env("HOOKMETER_STATE_DIR", state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(file) = config_file {
        cmd.env("HOOKMETER_CONFIG", file);
    }
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2), which
    // is async-signal-safe, allocates nothing and touches no state shared with the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Not waited for: it outlives this run and is reaped by init once this process is gone.
    let _child = cmd.spawn()?;
    Ok(())
}
