//! One flush: lock, snapshot, PUT the whole snapshot, record the result.
//!
//! Ordering: the snapshot is taken after the lock is held and the result recorded before it
//! is released, and the store's generation only grows, so pushes land in generation order: an
//! older snapshot never overwrites a newer one at the gateway.

use std::collections::HashSet;
use std::time::Instant;

use super::client::Client;
use super::record::{self, PushRecord};
use super::{PushError, Target, lock};
use crate::config::Config;
use crate::event::now_ms;
use crate::exposition;
use crate::log::{self, Level};
use crate::store::{Snapshot, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// `hookmeter flush`: push now, even a generation pushed before (the gateway may have
    /// restarted empty); waits for a running flush to finish first.
    Now,
    /// Started by a hook run: skips when the gateway already has this generation, and leaves
    /// at once when another flush is already waiting to run.
    Background,
}

#[derive(Debug)]
pub enum FlushOutcome {
    Pushed {
        generation: u64,
        series: usize,
        bytes: usize,
        duration_ms: u64,
        target: String,
    },
    /// The gateway already holds this generation.
    UpToDate {
        generation: u64,
        target: String,
    },
    /// Another flush is queued behind the running one and will push what this one would have.
    Queued,
}

/// The exact text a flush pushes, and how many series it holds.
pub struct Rendered {
    pub text: String,
    pub series: usize,
}

/// Render `snapshot` as pushed to `target`: gauges of plugins not in `live` left out, and
/// refused if an extra grouping label would overwrite a label of the metrics themselves (the
/// gateway forces grouping labels onto every series it stores).
pub fn render_for_push(
    snapshot: &Snapshot,
    live: Option<&HashSet<String>>,
    target: &Target,
) -> Result<Rendered, PushError> {
    let grouping: Vec<&str> = target.label_names().collect();
    for fam in snapshot.families.iter().filter(|f| !f.series.is_empty()) {
        if let Some(clash) = fam.family.label_names.iter().find(|l| grouping.contains(&l.as_str())) {
            return Err(PushError::Config(format!(
                "[push.grouping] {clash:?} is also a label of metric {}: the Pushgateway would overwrite its values; rename the grouping label",
                fam.family.name
            )));
        }
    }
    let text = exposition::render(snapshot, live);
    let series = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
    Ok(Rendered { text, series })
}

/// Push the store's snapshot now. `live` names the loaded plugins (for leaving out the gauges
/// of gone ones); it is only called when a push actually happens, as loading plugins costs
/// time. Every attempt is recorded in the store and logged.
pub fn flush(
    config: &Config,
    mode: FlushMode,
    live: impl FnOnce() -> Option<HashSet<String>>,
) -> Result<FlushOutcome, PushError> {
    let target = match Target::from_config(&config.push) {
        Ok(None) => return Err(PushError::NotConfigured),
        other => other,
    };
    let state_dir = config.state_dir()?;
    crate::store::create_private_dir(&state_dir)?;
    let _lock = match mode {
        FlushMode::Now => lock::exclusive(&state_dir)?,
        FlushMode::Background => match lock::exclusive_or_queue(&state_dir)? {
            Some(lock) => lock,
            None => {
                log::write(Level::Debug, "push", "a flush is already queued; leaving it to push");
                return Ok(FlushOutcome::Queued);
            }
        },
    };
    let mut store = Store::open(&state_dir)?;
    let target = match target {
        Ok(Some(t)) => t,
        Ok(None) => return Err(PushError::NotConfigured),
        Err(e) => {
            record_failure(&mut store, &e, now_ms(), 0, None)?;
            return Err(e);
        }
    };
    let previous = PushRecord::load(&store)?;
    let identity = target.identity();
    let snapshot = store.snapshot()?;
    if mode == FlushMode::Background
        && previous.pushed_generation == Some(snapshot.generation)
        && previous.pushed_target.as_deref() == Some(identity.as_str())
    {
        return Ok(FlushOutcome::UpToDate { generation: snapshot.generation, target: target.describe() });
    }

    let attempt_ms = now_ms();
    let started = Instant::now();
    let result = (|| {
        let client = Client::new(&config.push)?;
        let live = live();
        let rendered = render_for_push(&snapshot, live.as_ref(), &target)?;
        let bytes = rendered.text.len();
        client.put(&target, rendered.text)?;
        Ok((rendered.series, bytes))
    })();
    let duration_ms = started.elapsed().as_millis() as u64;

    match result {
        Ok((series, bytes)) => {
            let updated_ms = snapshot.families.iter().flat_map(|f| &f.series).map(|s| s.updated_ms).max().unwrap_or(0);
            let (generation, series_s, attempt_s, duration_s, updated_s) = (
                snapshot.generation.to_string(),
                series.to_string(),
                attempt_ms.to_string(),
                duration_ms.to_string(),
                updated_ms.to_string(),
            );
            store.set_meta(&[
                (record::PUSHED_GENERATION, &generation),
                (record::PUSHED_TARGET, &identity),
                (record::LAST_SUCCESS_MS, &attempt_s),
                (record::PUSHED_UPDATED_MS, &updated_s),
                (record::PUSHED_SERIES, &series_s),
                (record::LAST_ATTEMPT_MS, &attempt_s),
                (record::LAST_RESULT, "ok"),
                (record::LAST_ERROR, ""),
                (record::LAST_DURATION_MS, &duration_s),
                (record::LAST_TARGET, &target.describe()),
            ])?;
            log::write(
                Level::Info,
                "push",
                &format!(
                    "pushed {series} series (generation {}) to {} in {duration_ms} ms",
                    snapshot.generation,
                    target.describe()
                ),
            );
            Ok(FlushOutcome::Pushed {
                generation: snapshot.generation,
                series,
                bytes,
                duration_ms,
                target: target.describe(),
            })
        }
        Err(e) => {
            record_failure(&mut store, &e, attempt_ms, duration_ms, Some(&target))?;
            Err(e)
        }
    }
}

fn record_failure(
    store: &mut Store,
    e: &PushError,
    attempt_ms: u64,
    duration_ms: u64,
    target: Option<&Target>,
) -> Result<(), PushError> {
    let message = e.to_string();
    log::write(Level::Error, "push", &format!("push failed after {duration_ms} ms: {message}"));
    let target = target.map(Target::describe).unwrap_or_default();
    store.set_meta(&[
        (record::LAST_ATTEMPT_MS, &attempt_ms.to_string()),
        (record::LAST_RESULT, "failed"),
        (record::LAST_ERROR, &message),
        (record::LAST_DURATION_MS, &duration_ms.to_string()),
        (record::LAST_TARGET, &target),
    ])?;
    Ok(())
}
