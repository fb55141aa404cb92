//! hookmeter: the command Claude Code runs as its hook. It reads one hook event on stdin, runs
//! the sandboxed WebAssembly plugins subscribed to it, adds the metric updates they return to
//! a local cumulative store, answers Claude Code when a plugin has something to say, and
//! pushes the totals to a Prometheus Pushgateway in batches.
//!
//! The modules follow the data: [`event`] (parse, enrich) → [`plugin`] (load, sandbox, call)
//! → [`metrics`] (validate) → [`store`] (apply, persist) → [`output`] (answer Claude Code) →
//! [`push`] (to the Pushgateway). [`hook`] is one run of that pipeline; [`cli`] wires commands
//! to it.

pub mod cli;
pub mod config;
pub mod event;
pub mod exposition;
pub mod git;
pub mod harness;
pub mod hook;
pub mod install;
pub mod localtime;
pub mod log;
pub mod metrics;
pub mod output;
pub mod plugin;
pub mod push;
pub mod stats;
pub mod store;
pub mod wasm_build;
