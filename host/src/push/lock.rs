//! One flush pushes at a time: an exclusive `flock` on `<state_dir>/push.lock`, held from the
//! snapshot until the result is recorded. The kernel releases it when the process exits, so a
//! killed flush never leaves a stale lock behind.
//!
//! Background flushes also queue: while one flush pushes, at most one more waits (it holds
//! `push.queue.lock`). A third has nothing to add — the waiter takes its snapshot only after
//! it gets the push lock, so it will carry everything committed before the third started — and
//! exits at once. This bounds the processes a black-holed gateway can pile up.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use super::PushError;

const PUSH_LOCK: &str = "push.lock";
const QUEUE_LOCK: &str = "push.queue.lock";

/// Held while a flush runs; dropping it releases the lock.
pub struct FlushLock {
    _file: File,
}

/// Wait for the push lock (bounded in practice: the holder's HTTP timeouts bound its hold).
pub fn exclusive(state_dir: &Path) -> Result<FlushLock, PushError> {
    let (file, path) = open(state_dir, PUSH_LOCK)?;
    file.lock().map_err(|source| PushError::Lock { path, source })?;
    Ok(FlushLock { _file: file })
}

/// The push lock, or `None` when a flush is running and another is already waiting to run
/// after it (which will push everything this one would have).
pub fn exclusive_or_queue(state_dir: &Path) -> Result<Option<FlushLock>, PushError> {
    let (file, path) = open(state_dir, PUSH_LOCK)?;
    match file.try_lock() {
        Ok(()) => return Ok(Some(FlushLock { _file: file })),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(source)) => return Err(PushError::Lock { path, source }),
    }
    let (queue, queue_path) = open(state_dir, QUEUE_LOCK)?;
    match queue.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(source)) => return Err(PushError::Lock { path: queue_path, source }),
    }
    file.lock().map_err(|source| PushError::Lock { path, source })?;
    // Leave the queue before taking the snapshot: a flush that finds the queue taken must be
    // able to rely on the waiter's snapshot being later than its own run's commit.
    drop(queue);
    Ok(Some(FlushLock { _file: file }))
}

fn open(state_dir: &Path, name: &str) -> Result<(File, PathBuf), PushError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| PushError::Lock { path: path.clone(), source })?;
    Ok((file, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_flush_leaves_when_one_waits() {
        let dir = tempfile::tempdir().unwrap();
        let running = exclusive(dir.path()).unwrap();
        // Simulate a waiter by holding the queue lock from another open file description.
        let (queue, _) = open(dir.path(), QUEUE_LOCK).unwrap();
        queue.lock().unwrap();
        assert!(exclusive_or_queue(dir.path()).unwrap().is_none());
        drop(queue);
        drop(running);
        assert!(exclusive_or_queue(dir.path()).unwrap().is_some());
    }
}
