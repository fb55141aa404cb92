//! Write hookmeter plugins in Rust.
//!
//! The contract lives in `wit/plugin.wit` (package `hookmeter:plugin@0.1.0`); this crate is the
//! wit-bindgen bindings for it plus a few helpers, so that a plugin is a handful of lines:
//!
//! ```text
//! use hookmeter_plugin_sdk::*;
//!
//! struct Prompts;
//!
//! impl Plugin for Prompts {
//!     fn describe() -> Manifest {
//!         manifest("prompts", "0.1.0")
//!             .on("UserPromptSubmit")
//!             .metric(counter("my_prompts_total", "Prompts submitted.", &["project"]))
//!     }
//!
//!     fn handle(event: Event, ctx: Context) -> Result<Response, String> {
//!         Ok(response().inc("my_prompts_total", &[("project", &ctx.project)], 1.0))
//!     }
//! }
//!
//! export_plugin!(Prompts);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component hookmeter loads.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "hookmeter_plugin_sdk::bindings",
    });
}

pub use bindings::exports::hookmeter::plugin::handler::Guest;
pub use bindings::hookmeter::plugin::types::{
    Context, Event, HookOutput, Level, Manifest, MetricFamily, MetricKind, MetricUpdate, Op,
    Response, Subscription,
};

/// A plugin: the two functions of the `handler` interface. Export it with [`export_plugin!`].
pub trait Plugin {
    /// The plugin's name, version, subscriptions and metric families. Called once per compiled
    /// artifact and cached by the host, so it must not depend on config, state or time.
    fn describe() -> Manifest;

    /// Handle one event that matched a subscription.
    fn handle(event: Event, ctx: Context) -> Result<Response, String>;
}

/// Export a [`Plugin`] implementation as the component's `handler` interface.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct HookmeterExport;
            impl $crate::Guest for HookmeterExport {
                fn describe() -> $crate::Manifest {
                    <$plugin as $crate::Plugin>::describe()
                }
                fn handle(
                    event: $crate::Event,
                    ctx: $crate::Context,
                ) -> ::core::result::Result<$crate::Response, ::std::string::String> {
                    <$plugin as $crate::Plugin>::handle(event, ctx)
                }
            }
            $crate::bindings::export!(HookmeterExport with_types_in $crate::bindings);
        };
    };
}

// ---------------------------------------------------------------------------------------------
// Manifest builders

/// Start a manifest; add subscriptions with [`Manifest::on`] and families with
/// [`Manifest::metric`].
pub fn manifest(name: &str, version: &str) -> Manifest {
    Manifest {
        name: name.to_owned(),
        version: version.to_owned(),
        subscriptions: Vec::new(),
        metrics: Vec::new(),
    }
}

impl Manifest {
    fn subscribe(mut self, event: &str, matcher: Option<&str>, answers: bool) -> Self {
        self.subscriptions.push(Subscription {
            event: event.to_owned(),
            tool_matcher: matcher.map(str::to_owned),
            answers,
        });
        self
    }

    /// Observe an event by name ("*" for every event) without answering it.
    pub fn on(self, event: &str) -> Self {
        self.subscribe(event, None, false)
    }

    /// Observe a tool event for the tools `matcher` names (`Bash`, `Edit|Write`, `*`).
    pub fn on_tool(self, event: &str, matcher: &str) -> Self {
        self.subscribe(event, Some(matcher), false)
    }

    /// Subscribe to an event the plugin may answer (message, context or block).
    pub fn answer(self, event: &str) -> Self {
        self.subscribe(event, None, true)
    }

    /// Subscribe to a tool event the plugin may answer, e.g. to deny a tool call.
    pub fn answer_tool(self, event: &str, matcher: &str) -> Self {
        self.subscribe(event, Some(matcher), true)
    }

    /// Declare a metric family the plugin may update.
    pub fn metric(mut self, family: MetricFamily) -> Self {
        self.metrics.push(family);
        self
    }
}

fn family(name: &str, help: &str, kind: MetricKind, labels: &[&str], buckets: &[f64]) -> MetricFamily {
    MetricFamily {
        name: name.to_owned(),
        help: help.to_owned(),
        kind,
        label_names: labels.iter().map(|l| (*l).to_owned()).collect(),
        buckets: buckets.to_vec(),
    }
}

/// A counter family; its name must end in `_total`.
pub fn counter(name: &str, help: &str, labels: &[&str]) -> MetricFamily {
    family(name, help, MetricKind::Counter, labels, &[])
}

/// A gauge family.
pub fn gauge(name: &str, help: &str, labels: &[&str]) -> MetricFamily {
    family(name, help, MetricKind::Gauge, labels, &[])
}

/// A histogram family with the given bucket upper bounds (strictly increasing).
pub fn histogram(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> MetricFamily {
    family(name, help, MetricKind::Histogram, labels, buckets)
}

// ---------------------------------------------------------------------------------------------
// Events

impl Event {
    /// The full Claude Code payload, parsed. The host has already checked it is a JSON object.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::from_str(&self.json).unwrap_or(serde_json::Value::Null)
    }

    /// A top-level string field of the payload, e.g. `prompt` on UserPromptSubmit.
    pub fn str_field(&self, key: &str) -> Option<String> {
        self.payload().get(key)?.as_str().map(str::to_owned)
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// An empty response: no updates, no answer.
pub fn response() -> Response {
    Response { metrics: Vec::new(), output: None }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl Response {
    fn update(mut self, name: &str, pairs: &[(&str, &str)], op: Op) -> Self {
        self.metrics.push(MetricUpdate { name: name.to_owned(), labels: labels(pairs), op });
        self
    }

    /// Add `value` to a counter (value >= 0) or gauge.
    pub fn inc(self, name: &str, labels: &[(&str, &str)], value: f64) -> Self {
        self.update(name, labels, Op::Inc(value))
    }

    /// Set a gauge.
    pub fn set(self, name: &str, labels: &[(&str, &str)], value: f64) -> Self {
        self.update(name, labels, Op::Set(value))
    }

    /// Record one observation in a histogram.
    pub fn observe(self, name: &str, labels: &[(&str, &str)], value: f64) -> Self {
        self.update(name, labels, Op::Observe(value))
    }

    fn output_mut(&mut self) -> &mut HookOutput {
        self.output.get_or_insert(HookOutput {
            system_message: None,
            additional_context: None,
            block: None,
        })
    }

    /// Show `message` to the user.
    pub fn system_message(mut self, message: impl Into<String>) -> Self {
        self.output_mut().system_message = Some(message.into());
        self
    }

    /// Add `context` to Claude's context (UserPromptSubmit, SessionStart, PostToolUse).
    pub fn additional_context(mut self, context: impl Into<String>) -> Self {
        self.output_mut().additional_context = Some(context.into());
        self
    }

    /// Block with `reason` (erase the prompt, deny the tool call, keep Claude going).
    pub fn block(mut self, reason: impl Into<String>) -> Self {
        self.output_mut().block = Some(reason.into());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Host functions

/// Write to hookmeter's log.
pub mod log {
    use super::bindings::hookmeter::plugin::host;
    use super::Level;

    pub fn debug(message: &str) {
        host::log(Level::Debug, message);
    }
    pub fn info(message: &str) {
        host::log(Level::Info, message);
    }
    pub fn warn(message: &str) {
        host::log(Level::Warn, message);
    }
    pub fn error(message: &str) {
        host::log(Level::Error, message);
    }
}

/// This plugin's `[plugins.NAME]` config table, parsed (an empty object when there is none).
pub fn config() -> serde_json::Value {
    serde_json::from_str(&bindings::hookmeter::plugin::host::config())
        .unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
}

/// Per-plugin persistent key/value state, written in the same transaction as the metrics.
pub mod state {
    use super::bindings::hookmeter::plugin::host;

    pub fn get(key: &str) -> Option<String> {
        host::state_get(key)
    }
    pub fn set(key: &str, value: &str) {
        host::state_set(key, Some(value));
    }
    pub fn remove(key: &str) {
        host::state_set(key, None);
    }
}
