//! The plugin test harness: run a plugin on events and check what it does, under the same
//! sandbox, limits and validation as `hookmeter run`, so a plugin that passes here behaves
//! the same way when Claude Code runs it.
//!
//! Two ways in:
//! - `hookmeter test PLUGIN.wasm CASES...` runs case files (see [`case`] and
//!   `docs/writing-plugins.md`);
//! - from Rust, in a plugin crate's own `cargo test`:
//!
//! ```no_run
//! use hookmeter::harness::{Harness, default_context};
//!
//! // Builds this crate for wasm32-wasip2 and loads the component.
//! let mut harness = Harness::build(env!("CARGO_MANIFEST_DIR")).unwrap();
//! // Every case file under tests/cases; panics with the differences if one fails.
//! harness.run_cases("tests/cases");
//! // Or step by step; state carries over from call to call.
//! let step = harness
//!     .call(r#"{"hook_event_name":"UserPromptSubmit","session_id":"s1","prompt":"hi"}"#, &default_context())
//!     .unwrap();
//! assert_eq!(step.updates.len(), 1);
//! ```
//!
//! What the harness does not have is the store: updates are checked exactly as a hook run
//! checks them (declared families, kinds, labels, values, the series limit across a case's
//! steps) but are listed rather than added up.

pub mod bless;
mod cargo;
pub mod case;
pub mod check;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use crate::config::Limits;
pub use crate::event::Context;
pub use crate::metrics::{Op, Update};
pub use crate::plugin::{Answer, CallError, Manifest};
pub use case::{Case, Expect, Step, default_context};
pub use check::Mismatch;

use crate::config::Config;
use crate::hook::{self, SeriesSink};
use crate::metrics::{Family, Labels};
use crate::plugin::{Plugin, Runtime};
use crate::store::labels_key;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The component could not be read, compiled or described.
    #[error("{0}")]
    Load(String),
    /// `cargo build` of the plugin crate failed.
    #[error("{0}")]
    Build(String),
    /// A case file, config or event is not valid.
    #[error("{0}")]
    Input(String),
}

/// How to load a plugin.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The `[plugins.NAME]` key it would have in config.toml; default: the name in its
    /// manifest. Only logs and error messages show it.
    pub plugin_name: Option<String>,
    /// Default: hookmeter's defaults, as in a config file without `[limits]`.
    pub limits: Limits,
    /// Where compiled components are cached between runs; default: a temporary directory.
    pub cache_dir: Option<PathBuf>,
}

/// A loaded plugin plus the state a run of steps carries: the plugin's key/value state and
/// the series its accepted updates created (for the `max_series` limit).
pub struct Harness {
    runtime: Runtime,
    plugin: Plugin,
    /// Relative case paths are taken from here (the crate directory for [`Harness::build`]).
    base_dir: PathBuf,
    state: BTreeMap<String, String>,
    series: BTreeSet<(String, String)>,
    /// Family name → the bundled plugin that declares it. Bundled plugins load first, so in a
    /// hook run they own these names and a plugin declaring one of them gets an error.
    bundled_families: HashMap<String, String>,
    _temp_cache: Option<tempfile::TempDir>,
}

/// What one call did.
#[derive(Debug, Clone, Default)]
pub struct StepResult {
    /// False when the plugin is not subscribed to the event: `hookmeter run` would not call it.
    pub called: bool,
    /// The updates that passed validation, labels sorted by name.
    pub updates: Vec<Update>,
    /// `None` when the plugin said nothing (an answer with no field set counts as nothing).
    pub answer: Option<Answer>,
    /// The call's error, or the updates and families validation rejected.
    pub problems: Vec<CallError>,
    /// The plugin's whole state after the call.
    pub state: BTreeMap<String, String>,
    /// Things that work differently under Claude Code than a plugin author might expect, such
    /// as an answer on an event that cannot carry it.
    pub notes: Vec<String>,
}

impl Harness {
    /// Load the component at `path` with default options.
    pub fn load(path: impl AsRef<Path>) -> Result<Harness, HarnessError> {
        Harness::open(path.as_ref(), Options::default())
    }

    pub fn open(path: &Path, options: Options) -> Result<Harness, HarnessError> {
        let wasm = std::fs::read(path)
            .map_err(|e| HarnessError::Load(format!("cannot read {}: {e}", path.display())))?;
        let base_dir = std::env::current_dir().unwrap_or_default();
        Harness::from_bytes(wasm, options, base_dir)
            .map_err(|e| HarnessError::Load(format!("{}: {e}", path.display())))
    }

    /// Build the plugin crate at `crate_dir` (`cargo build --release --target wasm32-wasip2`,
    /// in a target directory of its own) and load it. Case paths are then relative to
    /// `crate_dir`, and compiled components are cached beside that build.
    pub fn build(crate_dir: impl AsRef<Path>) -> Result<Harness, HarnessError> {
        let crate_dir = crate_dir.as_ref();
        let wasm_path = cargo::build(crate_dir).map_err(HarnessError::Build)?;
        let options = Options {
            cache_dir: Some(cargo::harness_dir(crate_dir).join("cache")),
            ..Options::default()
        };
        let mut harness = Harness::open(&wasm_path, options)?;
        harness.base_dir = crate_dir.to_owned();
        Ok(harness)
    }

    fn from_bytes(wasm: Vec<u8>, options: Options, base_dir: PathBuf) -> Result<Harness, String> {
        let (cache_dir, temp) = match options.cache_dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("hookmeter-harness-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary cache directory: {e}"))?;
                (temp.path().join("cache"), Some(temp))
            }
        };
        let runtime = Runtime::new(cache_dir, options.limits).map_err(|e| format!("{e:#}"))?;
        let name = options
            .plugin_name
            .clone()
            .unwrap_or_else(|| "plugin".into());
        let mut plugin = runtime
            .load_bytes(&name, wasm, "{}".into())
            .map_err(|e| format!("{}: {}", e.reason, e.message))?;
        if options.plugin_name.is_none() && !plugin.manifest.name.is_empty() {
            plugin.name = plugin.manifest.name.clone();
        }
        let (bundled, _) = runtime.load_all(&Config::default());
        let bundled_families = bundled
            .iter()
            .flat_map(|b| {
                b.manifest
                    .families
                    .iter()
                    .map(|f| (f.name.clone(), b.name.clone()))
            })
            .collect();
        Ok(Harness {
            runtime,
            plugin,
            base_dir,
            state: BTreeMap::new(),
            series: BTreeSet::new(),
            bundled_families,
            _temp_cache: temp,
        })
    }

    /// The plugin's name (see [`Options::plugin_name`]).
    pub fn name(&self) -> &str {
        &self.plugin.name
    }

    /// What the plugin's `describe` returned.
    pub fn manifest(&self) -> &Manifest {
        &self.plugin.manifest
    }

    /// Set the plugin's config: the body of its `[plugins.NAME]` table as TOML, e.g.
    /// `"cooldown_minutes = 5"`.
    pub fn configure(&mut self, toml_table: &str) -> Result<(), HarnessError> {
        let table: toml::Table = toml::from_str(toml_table)
            .map_err(|e| HarnessError::Input(format!("plugin config is not valid TOML: {e}")))?;
        self.set_config(table);
        Ok(())
    }

    /// Set the plugin's config from a parsed table. It reaches the plugin exactly as
    /// `hookmeter run` passes a `[plugins.NAME]` table (as JSON, `path` and `enabled` removed).
    pub fn set_config(&mut self, table: toml::Table) {
        let mut config = Config::default();
        config.plugins.insert(self.plugin.name.clone(), table);
        self.plugin.config_json = config.plugin_config_json(&self.plugin.name);
    }

    /// The plugin's state now.
    pub fn state(&self) -> &BTreeMap<String, String> {
        &self.state
    }

    /// Set (`Some`) or delete (`None`) one state key before the next call.
    pub fn set_state(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.state.insert(key.to_owned(), v.to_owned()),
            None => self.state.remove(key),
        };
    }

    /// Forget state, series and config: as if the plugin had just been installed.
    pub fn reset(&mut self) {
        self.state.clear();
        self.series.clear();
        self.set_config(toml::Table::new());
    }

    /// Run one event (the hook payload as JSON) and return what happened, problems included.
    /// An `Err` means the event itself is not valid: `hookmeter run` would reject it too.
    pub fn step(&mut self, event_json: &str, ctx: &Context) -> Result<StepResult, HarnessError> {
        let event = crate::event::parse(event_json.to_owned()).map_err(|e| {
            HarnessError::Input(format!("the event is not a valid hook event: {e}"))
        })?;
        let mut result = StepResult {
            state: self.state.clone(),
            ..Default::default()
        };
        let manifest = &self.plugin.manifest;
        if !manifest.subscribed(&event.name, event.tool_name.as_deref()) {
            let tool = event
                .tool_name
                .as_deref()
                .map(|t| format!(" (tool {t})"))
                .unwrap_or_default();
            result.notes.push(format!(
                "the plugin is not subscribed to {}{tool}: `hookmeter run` does not call it",
                event.name
            ));
            return Ok(result);
        }
        result.called = true;
        let answers = manifest
            .subscriptions
            .iter()
            .any(|s| s.answers && s.matches(&event.name, event.tool_name.as_deref()));
        // The same checks, in the same order, as a hook run (`hook::process`).
        let families =
            hook::declared_families(&self.plugin, &self.bundled_families, &mut result.problems);
        let state: HashMap<String, String> = self.state.clone().into_iter().collect();
        let reply = match self.runtime.handle(&mut self.plugin, state, &event, ctx) {
            Err(e) => {
                result.problems.push(e);
                return Ok(result);
            }
            Ok(reply) => reply,
        };
        let mut sink = ListSink {
            series: &mut self.series,
            accepted: Vec::new(),
        };
        let Ok(()) = hook::apply_updates(
            &mut sink,
            self.runtime.limits(),
            &families,
            reply.updates,
            &mut result.problems,
        );
        result.updates = sink.accepted;
        for (key, value) in reply.state_writes {
            match value {
                Some(v) => self.state.insert(key, v),
                None => self.state.remove(&key),
            };
        }
        result.state = self.state.clone();
        result.answer = reply.answer.filter(|a| a != &Answer::default());
        if let Some(answer) = &result.answer {
            let merged =
                crate::output::merge(&event.name, &[(self.plugin.name.clone(), answer.clone())]);
            result.notes.extend(
                merged
                    .dropped
                    .into_iter()
                    .map(|d| format!("{d}: `hookmeter run` drops this part of the answer")),
            );
            if !answers {
                result.notes.push(format!(
                    "the plugin answered {} but subscribed to it without `answers`: `hookmeter install` registers \
                     such events as async hooks, whose answers Claude Code may never see",
                    event.name
                ));
            }
        }
        Ok(result)
    }

    /// Run one event and insist it went cleanly: `Err` holds the event's, call's or
    /// validation's problems (all of them, one per line). State carries over either way.
    pub fn call(&mut self, event_json: &str, ctx: &Context) -> Result<StepResult, CallError> {
        let result = self
            .step(event_json, ctx)
            .map_err(|e| CallError::new("event", e.to_string()))?;
        match result.problems.first() {
            None => Ok(result),
            Some(first) => {
                let message = result
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.reason, p.message))
                    .collect::<Vec<_>>()
                    .join("\n");
                Err(CallError::new(first.reason, message))
            }
        }
    }

    /// Run one case: its config and state, then each step, checked against its expectations.
    pub fn run_case(&mut self, case: &Case) -> CaseReport {
        self.reset();
        self.set_config(case.config.clone());
        self.state = case.state.clone();
        let mut report = CaseReport {
            path: case.path.clone(),
            description: case.description.clone(),
            ..Default::default()
        };
        for (i, step) in case.steps.iter().enumerate() {
            let before = self.state.clone();
            match self.step(&step.event_json, &step.context) {
                Err(e) => {
                    report.error = Some(format!("step {}: {e}", i + 1));
                    return report;
                }
                Ok(result) => {
                    let event = crate::event::parse(step.event_json.clone())
                        .map(|e| e.name)
                        .unwrap_or_default();
                    let mismatches = check::check(&step.expect, &result);
                    report.steps.push(StepReport {
                        event,
                        mismatches,
                        state_changed: result.state != before,
                        result,
                    });
                }
            }
        }
        report
    }

    /// Run every case under `paths` (files, or directories searched for `*.toml`), without
    /// panicking. Relative paths are taken from the crate directory for [`Harness::build`],
    /// else from the current directory.
    pub fn check_cases<P: AsRef<Path>>(&mut self, paths: &[P]) -> Report {
        let paths: Vec<PathBuf> = paths.iter().map(|p| self.base_dir.join(p)).collect();
        let files = match case::collect(&paths) {
            Ok(files) => files,
            Err(e) => {
                let path = paths.first().cloned().unwrap_or_default();
                return Report {
                    cases: vec![CaseReport {
                        path,
                        error: Some(e),
                        ..Default::default()
                    }],
                };
            }
        };
        let cases = files
            .into_iter()
            .map(|path| match case::load(&path) {
                Ok(case) => self.run_case(&case),
                Err(e) => CaseReport {
                    path,
                    error: Some(e),
                    ..Default::default()
                },
            })
            .collect();
        Report { cases }
    }

    /// Run every case under `path` and panic, showing every difference, if any fails. For
    /// `cargo test`: `harness.run_cases("tests/cases")`.
    #[track_caller]
    pub fn run_cases(&mut self, path: impl AsRef<Path>) -> Report {
        let report = self.check_cases(&[path.as_ref()]);
        if !report.is_ok() {
            panic!("plugin cases failed:\n{report}");
        }
        report
    }
}

/// Accepted updates go into a list; the series they name are remembered across steps for the
/// `max_series` limit.
struct ListSink<'a> {
    series: &'a mut BTreeSet<(String, String)>,
    accepted: Vec<Update>,
}

impl SeriesSink for ListSink<'_> {
    type Error = Infallible;
    fn series_count(&mut self) -> Result<usize, Infallible> {
        Ok(self.series.len())
    }
    fn series_exists(&mut self, family: &str, labels: &Labels) -> Result<bool, Infallible> {
        Ok(self
            .series
            .contains(&(family.to_owned(), labels_key(labels))))
    }
    fn apply(&mut self, family: &Family, update: &Update) -> Result<(), Infallible> {
        self.series
            .insert((family.name.clone(), labels_key(&update.labels)));
        self.accepted.push(update.clone());
        Ok(())
    }
}

/// One step of a case, checked.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The event's `hook_event_name`.
    pub event: String,
    pub mismatches: Vec<Mismatch>,
    /// Whether the step changed the plugin's state (`--bless` then writes `state`).
    pub state_changed: bool,
    pub result: StepResult,
}

/// One case file, checked.
#[derive(Debug, Clone, Default)]
pub struct CaseReport {
    pub path: PathBuf,
    pub description: String,
    pub steps: Vec<StepReport>,
    /// The case could not be run: the file or one of its events is not valid.
    pub error: Option<String>,
}

impl CaseReport {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| s.mismatches.is_empty())
    }

    /// `ok      path  description`, then, for a failure, each step's differences.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let status = if self.passed() { "ok" } else { "FAILED" };
        let _ = write!(out, "{status:<7} {}", self.path.display());
        if !self.description.is_empty() {
            let _ = write!(out, "  {}", self.description);
        }
        out.push('\n');
        if let Some(e) = &self.error {
            let _ = writeln!(out, "{}", indent(&format!("error: {e}")));
        }
        for (i, step) in self.steps.iter().enumerate() {
            for m in &step.mismatches {
                let _ = writeln!(
                    out,
                    "{}",
                    indent(&format!(
                        "step {} ({}): {}",
                        i + 1,
                        step.event,
                        m.diff().trim_end()
                    ))
                );
            }
            for note in &step.result.notes {
                let _ = writeln!(
                    out,
                    "{}",
                    indent(&format!("step {} ({}): note: {note}", i + 1, step.event))
                );
            }
        }
        out
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every case of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cases: Vec<CaseReport>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// At least one case, and every case passed.
    pub fn is_ok(&self) -> bool {
        !self.cases.is_empty() && self.failed() == 0
    }

    /// `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for case in &self.cases {
            f.write_str(&case.render())?;
        }
        writeln!(f, "{}", self.summary())
    }
}
