//! One hook run, the hot path: event → plugins → store → answer. `cli` calls [`run`] and
//! prints what it returns; everything that can be decided without the network happens here.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use crate::config::Config;
use crate::event::{self, Context, Event, EventError};
use crate::log::{self, Level};
use crate::metrics::{self, Family, Kind, UpdateLimits};
use crate::output;
use crate::plugin::{Answer, CallError, Plugin, Reply, Runtime};
use crate::store::{Store, StoreError, Txn};

/// The pseudo-plugin that owns hookmeter's own metrics.
pub const HOST_PLUGIN: &str = "hookmeter";
pub const ERRORS_FAMILY: &str = "hookmeter_plugin_errors_total";
pub const EVENTS_FAMILY: &str = "hookmeter_events_total";
pub const BUSY_RETRIES_FAMILY: &str = "hookmeter_sqlite_busy_retries_total";

/// Event names counted under their own label value; others count as "other" so a stream of
/// made-up names cannot grow the series without bound.
const KNOWN_EVENTS: &[&str] = &[
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionRequest",
    "Notification",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostToolBatch",
    "MessageDisplay",
    "InstructionsLoaded",
    "PostCompact",
    "UserPromptExpansion",
    "Setup",
    "ExerciseCompleted",
];

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Runtime(String),
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The JSON answer for Claude Code, if any plugin spoke.
    pub answer: Option<serde_json::Value>,
    pub event: String,
    pub state_dir: PathBuf,
    /// Plugins called, and errors counted, for `--verbose` style reporting.
    pub called: Vec<String>,
    pub errors: Vec<(String, CallError)>,
    /// A push is due: the caller starts a background flush after answering.
    pub flush_due: bool,
}

pub fn host_families() -> [Family; 3] {
    [
        Family {
            name: ERRORS_FAMILY.into(),
            help: "Plugin calls that failed or returned something invalid, by plugin and reason.".into(),
            kind: Kind::Counter,
            label_names: vec!["plugin".into(), "reason".into()],
            buckets: vec![],
        },
        Family {
            name: EVENTS_FAMILY.into(),
            help: "Hook events hookmeter processed, by event name.".into(),
            kind: Kind::Counter,
            label_names: vec!["event".into()],
            buckets: vec![],
        },
        Family {
            name: BUSY_RETRIES_FAMILY.into(),
            help: "Times a hook run found the store locked by another run and waited (SQLite busy retries).".into(),
            kind: Kind::Counter,
            label_names: vec![],
            buckets: vec![],
        },
    ]
}

/// Read one event from `input` and process it, in a process that exits afterwards (the
/// hook): the runtime and plugins are left for the OS to reclaim.
pub fn run(config: &Config, input: impl Read) -> Result<Outcome, RunError> {
    let event = event::read(input)?;
    let ctx = event::enrich(&event.dir(), event::now_ms());
    let (outcome, loaded) = process(config, &event, &ctx)?;
    // The process exits once it has answered, and the OS unmaps the engine, the plugins'
    // code and their instances in one go; running their destructors first was ~8 % of the
    // run's instructions. (The store is closed before `process` returns: its WAL upkeep
    // happens on close.)
    std::mem::forget(loaded);
    Ok(outcome)
}

/// Process one parsed event; hands back the runtime and plugins for the caller to drop (or
/// not).
fn process(config: &Config, event: &Event, ctx: &Context) -> Result<(Outcome, (Runtime, Vec<Plugin>)), RunError> {
    let state_dir = config.state_dir()?;
    let runtime = Runtime::new(state_dir.join("cache"), config.limits.clone()).map_err(|e| RunError::Runtime(format!("{e:#}")))?;
    let (mut plugins, failures) = runtime.load_all(config);
    let mut outcome = Outcome { event: event.name.clone(), state_dir: state_dir.clone(), ..Default::default() };
    for f in failures {
        log::write(Level::Error, &format!("plugin {}", f.name), &f.error.message);
        outcome.errors.push((f.name, f.error));
    }

    let mut store = Store::open(&state_dir)?;
    let mut txn = store.begin()?;
    let [errors_family, events_family, busy_family] = host_families();
    txn.register_family(HOST_PLUGIN, &errors_family)?;
    txn.register_family(HOST_PLUGIN, &events_family)?;
    txn.register_family(HOST_PLUGIN, &busy_family)?;

    let subscribed_by_any = plugins.iter().any(|p| p.manifest.subscribed(&event.name, None));
    let event_label = if KNOWN_EVENTS.contains(&event.name.as_str()) || subscribed_by_any {
        event.name.as_str()
    } else {
        "other"
    };
    let bump = |txn: &mut Txn<'_>, family: &Family, labels: Vec<(String, String)>, by: f64| {
        let update = metrics::check_update(family, labels, metrics::Op::Inc(by), UpdateLimits { max_label_value_bytes: 1024 })
            .expect("host metrics are valid");
        txn.apply(HOST_PLUGIN, family, &update, ctx.now_ms)
    };
    bump(&mut txn, &events_family, vec![("event".into(), event_label.into())], 1.0)?;
    // The waits this process made to get the write lock (counted by the store's busy handler),
    // so contention shows in the metrics; a run without waits leaves the series untouched.
    let busy = crate::store::BUSY_RETRIES.load(std::sync::atomic::Ordering::Relaxed);
    if busy > 0 {
        bump(&mut txn, &busy_family, vec![], busy as f64)?;
    }

    // Families are owned by the first loaded plugin that declares them.
    let mut owners: HashMap<String, String> = HashMap::new();
    for p in &plugins {
        for f in &p.manifest.families {
            owners.entry(f.name.clone()).or_insert_with(|| p.name.clone());
        }
    }

    let mut answers: Vec<(String, Answer)> = Vec::new();
    for plugin in plugins.iter_mut() {
        if !plugin.manifest.subscribed(&event.name, event.tool_name.as_deref()) {
            continue;
        }
        outcome.called.push(plugin.name.clone());
        let mut problems: Vec<CallError> = Vec::new();
        let families = declared_families(plugin, &owners, &mut problems);
        for f in &families {
            txn.register_family(&plugin.name, f)?;
        }
        let state = txn.plugin_state(&plugin.name)?;
        match runtime.handle(plugin, state, event, ctx) {
            Err(e) => problems.push(e),
            Ok(reply) => {
                let Reply { updates, answer, state_writes } = reply;
                let mut sink = StoreSink { txn: &mut txn, plugin: &plugin.name, now_ms: ctx.now_ms };
                apply_updates(&mut sink, runtime.limits(), &families, updates, &mut problems)?;
                for (key, value) in &state_writes {
                    txn.set_plugin_state(&plugin.name, key, value.as_deref())?;
                }
                if let Some(answer) = answer {
                    answers.push((plugin.name.clone(), answer));
                }
            }
        }
        for problem in problems {
            log::write(Level::Error, &format!("plugin {}", plugin.name), &format!("{}: {}", problem.reason, problem.message));
            outcome.errors.push((plugin.name.clone(), problem));
        }
    }
    for (plugin, error) in &outcome.errors {
        let labels = vec![("plugin".into(), plugin.clone()), ("reason".into(), error.reason.into())];
        bump(&mut txn, &errors_family, labels, 1.0)?;
    }
    // Decided in the run's transaction so that, of concurrent runs, only one starts a flush.
    // Push bookkeeping must never cost the event: on error, no flush this time.
    outcome.flush_due = crate::push::claim_due_flush(&mut txn, &config.push, &event.name, ctx.now_ms).unwrap_or_else(|e| {
        log::write(Level::Warn, "push", &format!("cannot tell whether a push is due: {e}"));
        false
    });
    txn.commit()?;

    let merged = output::merge(&event.name, &answers);
    for note in merged.dropped {
        log::write(Level::Warn, "output", &note);
    }
    outcome.answer = merged.json;
    Ok((outcome, (runtime, plugins)))
}

/// The plugin's valid families that it owns; problems for the rest. `owners` maps each family
/// name to the plugin that declared it first; a family absent from it is the plugin's own.
/// Shared with the test harness, so a plugin is judged there exactly as in a hook run.
pub fn declared_families(plugin: &Plugin, owners: &HashMap<String, String>, problems: &mut Vec<CallError>) -> Vec<Family> {
    let (valid, rejected) = plugin.manifest.checked_families();
    problems.extend(rejected.into_iter().map(|r| CallError::new("invalid_manifest", r)));
    valid
        .into_iter()
        .filter(|f| match owners.get(&f.name) {
            Some(owner) if owner != &plugin.name => {
                problems.push(CallError::new(
                    "invalid_manifest",
                    format!("family {:?} is already declared by plugin {owner}", f.name),
                ));
                false
            }
            _ => true,
        })
        .collect()
}

/// Where accepted updates go: the store in a hook run, a list in the test harness. Both run
/// [`apply_updates`], so a plugin that passes the harness passes a hook run.
pub trait SeriesSink {
    type Error;
    /// How many series the plugin owns now.
    fn series_count(&mut self) -> Result<usize, Self::Error>;
    fn series_exists(&mut self, family: &str, labels: &metrics::Labels) -> Result<bool, Self::Error>;
    fn apply(&mut self, family: &Family, update: &metrics::Update) -> Result<(), Self::Error>;
}

/// One plugin's series in the store, within the run's transaction.
struct StoreSink<'t, 'c> {
    txn: &'t mut Txn<'c>,
    plugin: &'t str,
    now_ms: u64,
}

impl SeriesSink for StoreSink<'_, '_> {
    type Error = StoreError;
    fn series_count(&mut self) -> Result<usize, StoreError> {
        self.txn.series_count(self.plugin)
    }
    fn series_exists(&mut self, family: &str, labels: &metrics::Labels) -> Result<bool, StoreError> {
        self.txn.series_exists(family, labels)
    }
    fn apply(&mut self, family: &Family, update: &metrics::Update) -> Result<(), StoreError> {
        self.txn.apply(self.plugin, family, update, self.now_ms)
    }
}

/// Check each update against the plugin's `families` and `limits`, and hand the valid ones to
/// `sink`; the first few rejections are reported one by one, the rest summed up.
pub fn apply_updates<S: SeriesSink>(
    sink: &mut S,
    limits: &crate::config::Limits,
    families: &[Family],
    updates: Vec<crate::plugin::RawUpdate>,
    problems: &mut Vec<CallError>,
) -> Result<(), S::Error> {
    const REPORTED: usize = 5;
    let update_limits = UpdateLimits { max_label_value_bytes: limits.max_label_value_bytes };
    let mut rejected: Vec<CallError> = Vec::new();
    for raw in updates {
        let Some(family) = families.iter().find(|f| f.name == raw.name) else {
            rejected.push(CallError::new("invalid_update", format!("{:?} is not a declared metric family", truncated(&raw.name))));
            continue;
        };
        let update = match metrics::check_update(family, raw.labels, raw.op, update_limits) {
            Ok(u) => u,
            Err(reason) => {
                rejected.push(CallError::new("invalid_update", reason));
                continue;
            }
        };
        if sink.series_count()? >= limits.max_series && !sink.series_exists(&family.name, &update.labels)? {
            rejected.push(CallError::new(
                "cardinality",
                format!("{}: plugin already has {} series ([limits] max_series)", family.name, limits.max_series),
            ));
            continue;
        }
        sink.apply(family, &update)?;
    }
    let total = rejected.len();
    let mut kept: Vec<CallError> = rejected.into_iter().take(REPORTED).collect();
    if total > REPORTED {
        if let Some(last) = kept.last_mut() {
            last.message = format!("{} (and {} more rejected updates)", last.message, total - REPORTED);
        }
    }
    problems.extend(kept);
    Ok(())
}

fn truncated(s: &str) -> &str {
    let mut end = s.len().min(100);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
