//! The second stage: find the plugins, compile (or load from cache) and describe them, and
//! call the ones subscribed to an event inside their sandbox.

pub mod bindings;
pub mod cache;
pub mod manifest;
pub mod sandbox;
pub mod wasi;

use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, OptLevel};

use crate::config::{Config, Limits};
use crate::event::{Context, Event};
pub use manifest::{Manifest, Subscription};
pub use sandbox::{Answer, CallError, RawUpdate, Reply};

/// A plugin compiled into this binary.
pub struct BundledPlugin {
    pub name: &'static str,
    pub sha256: &'static str,
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Where a plugin's component comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Bundled(&'static str),
    File(PathBuf),
}

/// A plugin ready to be matched against events: its manifest is known (from the cache when
/// possible), its code is loaded only if an event needs it.
pub struct Plugin {
    /// The plugin's identity: the bundled name or the `[plugins.NAME]` key. Its state, metric
    /// families and error counts are filed under this name.
    pub name: String,
    pub source: Source,
    pub sha256: String,
    pub config_json: String,
    pub manifest: Manifest,
    component: Option<Component>,
    wasm: WasmBytes,
}

enum WasmBytes {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl WasmBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            WasmBytes::Static(b) => b,
            WasmBytes::Owned(b) => b,
        }
    }
}

/// A plugin that could not be loaded; the run goes on without it.
#[derive(Debug)]
pub struct LoadFailure {
    pub name: String,
    pub error: CallError,
}

/// The engine, linker and cache shared by every plugin of a process.
pub struct Runtime {
    pub engine: Engine,
    linker: Mutex<wasi::PluginLinker>,
    cache: cache::Cache,
    limits: Limits,
}

impl Runtime {
    pub fn new(cache_dir: PathBuf, limits: Limits) -> anyhow::Result<Runtime> {
        let mut cfg = wasmtime::Config::new();
        cfg.epoch_interruption(true)
            .wasm_component_model(true)
            .cranelift_opt_level(OptLevel::Speed)
            // A plugin that recurses without end traps with a stack overflow, well before
            // the host's own stack is at risk.
            .max_wasm_stack(512 * 1024)
            // Unwind tables for the plugins' code serve only outside unwinders (wasmtime's
            // own backtraces walk frame pointers); registering them with libgcc was a visible
            // part of loading a cached plugin.
            .native_unwind_info(false);
        let engine = Engine::new(&cfg).map_err(|e| anyhow::anyhow!("creating the wasm engine: {e}"))?;
        let linker = wasi::PluginLinker::new(&engine).map_err(|e| anyhow::anyhow!("linking host functions: {e}"))?;
        let cache = cache::Cache::new(cache_dir, &engine);
        Ok(Runtime { engine, linker: Mutex::new(linker), cache, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache.dir()
    }

    /// Load every enabled plugin: the bundled ones, then those the config adds by path.
    pub fn load_all(&self, config: &Config) -> (Vec<Plugin>, Vec<LoadFailure>) {
        let mut plugins = Vec::new();
        let mut failures = Vec::new();
        for spec in plugin_specs(config) {
            let (name, source) = spec;
            match self.load(config, &name, source) {
                Ok(p) => plugins.push(p),
                Err(error) => failures.push(LoadFailure { name, error }),
            }
        }
        (plugins, failures)
    }

    /// Load one plugin from bytes (used by `hookmeter test` and the harness).
    pub fn load_bytes(&self, name: &str, wasm: Vec<u8>, config_json: String) -> Result<Plugin, CallError> {
        let sha256 = hex::encode(Sha256::digest(&wasm));
        self.prepare(name.to_owned(), Source::File(PathBuf::new()), sha256, WasmBytes::Owned(wasm), config_json)
    }

    fn load(&self, config: &Config, name: &str, source: Source) -> Result<Plugin, CallError> {
        let config_json = config.plugin_config_json(name);
        let (sha256, wasm) = match &source {
            Source::Bundled(bundled) => {
                let b = BUNDLED.iter().find(|b| b.name == *bundled).expect("bundled plugin exists");
                (b.sha256.to_owned(), WasmBytes::Static(b.wasm))
            }
            Source::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    CallError::new("load", format!("cannot read {} ([plugins.{name}] path): {e}", path.display()))
                })?;
                (hex::encode(Sha256::digest(&bytes)), WasmBytes::Owned(bytes))
            }
        };
        self.prepare(name.to_owned(), source, sha256, wasm, config_json)
    }

    fn prepare(
        &self,
        name: String,
        source: Source,
        sha256: String,
        wasm: WasmBytes,
        config_json: String,
    ) -> Result<Plugin, CallError> {
        if let Some(manifest) = self.cache.manifest(&sha256) {
            return Ok(Plugin { name, source, sha256, config_json, manifest, component: None, wasm });
        }
        // Not in the cache (first run, plugin changed, or a cache entry failed its check):
        // compile, describe, and cache both.
        let component = Component::new(&self.engine, wasm.bytes())
            .map_err(|e| CallError::new("load", format!("not a valid component: {e:#}")))?;
        let spec = sandbox::CallSpec {
            plugin: &name,
            config_json: &config_json,
            state: Default::default(),
            limits: &self.limits,
            now_ms: crate::event::now_ms(),
        };
        let manifest = self.with_linker(&component, |linker| sandbox::describe(&self.engine, linker, &component, spec))?;
        if let Err(e) = self.cache.store(&sha256, &component, &manifest) {
            crate::log::write(
                crate::log::Level::Warn,
                "cache",
                &format!("cannot write the compile cache in {}: {e}", self.cache.dir().display()),
            );
        }
        Ok(Plugin { name, source, sha256, config_json, manifest, component: Some(component), wasm })
    }

    fn component(&self, plugin: &mut Plugin) -> Result<Component, CallError> {
        if let Some(c) = &plugin.component {
            return Ok(c.clone());
        }
        let component = match self.cache.load(&self.engine, &plugin.sha256) {
            Some(c) => c,
            None => {
                let c = Component::new(&self.engine, plugin.wasm.bytes())
                    .map_err(|e| CallError::new("load", format!("not a valid component: {e:#}")))?;
                let _ = self.cache.store(&plugin.sha256, &c, &plugin.manifest);
                c
            }
        };
        plugin.component = Some(component.clone());
        Ok(component)
    }

    /// Call `plugin`'s `handle` for `event` with its current `state`.
    pub fn handle(
        &self,
        plugin: &mut Plugin,
        state: std::collections::HashMap<String, String>,
        event: &Event,
        ctx: &Context,
    ) -> Result<Reply, CallError> {
        let component = self.component(plugin)?;
        let spec = sandbox::CallSpec {
            plugin: &plugin.name,
            config_json: &plugin.config_json,
            state,
            limits: &self.limits,
            now_ms: ctx.now_ms,
        };
        self.with_linker(&component, |linker| sandbox::handle(&self.engine, linker, &component, spec, event, ctx))
    }

    /// Run `f` with the linker, holding every WASI interface `component` imports.
    fn with_linker<R>(
        &self,
        component: &Component,
        f: impl FnOnce(&Linker<sandbox::Sandbox>) -> Result<R, CallError>,
    ) -> Result<R, CallError> {
        let mut linker = self.linker.lock().unwrap_or_else(|e| e.into_inner());
        let linker = linker
            .for_component(&self.engine, component)
            .map_err(|e| CallError::new("load", format!("linking its WASI imports: {e:#}")))?;
        f(linker)
    }
}

/// (name, source) of every enabled plugin, bundled first, in a stable order.
pub fn plugin_specs(config: &Config) -> Vec<(String, Source)> {
    let mut specs: Vec<(String, Source)> = BUNDLED
        .iter()
        .filter(|b| config.plugin_enabled(b.name))
        .map(|b| (b.name.to_owned(), Source::Bundled(b.name)))
        .collect();
    for (name, table) in &config.plugins {
        if let Some(path) = table.get("path").and_then(toml::Value::as_str) {
            if config.plugin_enabled(name) && !BUNDLED.iter().any(|b| b.name == name) {
                specs.push((name.clone(), Source::File(PathBuf::from(path))));
            }
        }
    }
    specs
}
