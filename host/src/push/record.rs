//! Push bookkeeping, kept in the store's `meta` table beside the totals it describes.

use crate::store::{Store, StoreError, Txn};

/// When a hook run last started a background flush (the batching interval counts from it).
pub const LAST_SPAWN_MS: &str = "push.last_spawn_ms";
/// The store generation of the last snapshot the gateway accepted.
pub const PUSHED_GENERATION: &str = "push.pushed_generation";
/// Which group that generation went to ([`super::Target::identity`]).
pub const PUSHED_TARGET: &str = "push.pushed_target";
pub const LAST_SUCCESS_MS: &str = "push.last_success_ms";
/// Newest `updated_ms` among the series of the last accepted snapshot: series updated later
/// are pending.
pub const PUSHED_UPDATED_MS: &str = "push.pushed_updated_ms";
pub const PUSHED_SERIES: &str = "push.pushed_series";
pub const LAST_ATTEMPT_MS: &str = "push.last_attempt_ms";
/// `ok` or `failed`.
pub const LAST_RESULT: &str = "push.last_result";
/// The last failure's message (already free of secrets); empty after a success.
pub const LAST_ERROR: &str = "push.last_error";
pub const LAST_DURATION_MS: &str = "push.last_duration_ms";
pub const LAST_TARGET: &str = "push.last_target";

/// What the store knows about past pushes.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PushRecord {
    pub pushed_generation: Option<u64>,
    pub pushed_target: Option<String>,
    pub last_success_ms: Option<u64>,
    pub pushed_updated_ms: Option<u64>,
    pub pushed_series: Option<u64>,
    pub last_attempt_ms: Option<u64>,
    pub last_result: Option<String>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<u64>,
    pub last_target: Option<String>,
    pub last_spawn_ms: Option<u64>,
}

impl PushRecord {
    pub fn load(store: &Store) -> Result<PushRecord, StoreError> {
        let number = |key| store.meta(key).map(|v| v.and_then(|v| v.parse().ok()));
        Ok(PushRecord {
            pushed_generation: number(PUSHED_GENERATION)?,
            pushed_target: store.meta(PUSHED_TARGET)?,
            last_success_ms: number(LAST_SUCCESS_MS)?,
            pushed_updated_ms: number(PUSHED_UPDATED_MS)?,
            pushed_series: number(PUSHED_SERIES)?,
            last_attempt_ms: number(LAST_ATTEMPT_MS)?,
            last_result: store.meta(LAST_RESULT)?,
            last_error: store.meta(LAST_ERROR)?.filter(|e| !e.is_empty()),
            last_duration_ms: number(LAST_DURATION_MS)?,
            last_target: store.meta(LAST_TARGET)?,
            last_spawn_ms: number(LAST_SPAWN_MS)?,
        })
    }
}

/// A number from the run's transaction, `None` when absent or unreadable.
pub fn txn_number(txn: &Txn<'_>, key: &str) -> Result<Option<u64>, StoreError> {
    Ok(txn.meta(key)?.and_then(|v| v.parse().ok()))
}
