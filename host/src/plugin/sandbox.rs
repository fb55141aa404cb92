//! One plugin call in its sandbox: a fresh store with WASI that grants nothing (no preopened
//! files, no sockets, no environment, frozen clocks, captured stdio), a memory cap, and a
//! wall-clock budget enforced by epoch interruption.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, EngineWeak, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::v0_1::{self as wit, hookmeter::plugin::types as t};
use super::manifest::Manifest;
use crate::config::Limits;
use crate::event::{Context, Event};
use crate::log::{self, Level};
use crate::metrics::Op;

/// The epoch ticks this often; budgets are rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Bounds on the state one plugin keeps.
pub const MAX_STATE_KEY_BYTES: usize = 256;
pub const MAX_STATE_VALUE_BYTES: usize = 64 * 1024;
pub const MAX_STATE_KEYS: usize = 1024;
/// Longer answers are cut: they are shown in a terminal.
pub const MAX_OUTPUT_TEXT_BYTES: usize = 8 * 1024;

/// Why a call produced nothing; `reason` is the `reason` label of
/// `hookmeter_plugin_errors_total`.
#[derive(Debug, Clone)]
pub struct CallError {
    pub reason: &'static str,
    pub message: String,
}

impl CallError {
    pub fn new(reason: &'static str, message: impl Into<String>) -> CallError {
        CallError { reason, message: message.into() }
    }
}

/// A metric update as the plugin returned it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawUpdate {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub op: Op,
}

/// What a plugin asked Claude Code to show or do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub system_message: Option<String>,
    pub additional_context: Option<String>,
    pub block: Option<String>,
}

/// A successful call's result.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub updates: Vec<RawUpdate>,
    pub answer: Option<Answer>,
    /// Keys set (`Some`) or deleted (`None`) during the call.
    pub state_writes: BTreeMap<String, Option<String>>,
}

/// Per-call data the host functions and WASI see.
pub struct Sandbox {
    plugin: String,
    config_json: String,
    state: HashMap<String, String>,
    state_writes: BTreeMap<String, Option<String>>,
    /// Keys that exist after the writes so far, kept as a count so each write is O(log n).
    live_keys: usize,
    state_error: Option<String>,
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryCap,
}

/// Caps linear memory and tables; remembers whether it said no, so that the trap that
/// follows can be reported as what it is.
struct MemoryCap {
    max_bytes: usize,
    denied: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_bytes;
        self.denied |= !ok;
        Ok(ok)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        // A table element is a pointer; count tables against the same cap.
        let ok = desired.saturating_mul(8) <= self.max_bytes;
        self.denied |= !ok;
        Ok(ok)
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl t::Host for Sandbox {}

impl wit::hookmeter::plugin::host::Host for Sandbox {
    fn log(&mut self, level: t::Level, message: String) {
        let level = match level {
            t::Level::Trace | t::Level::Debug => Level::Debug,
            t::Level::Info => Level::Info,
            t::Level::Warn => Level::Warn,
            t::Level::Error => Level::Error,
        };
        log::write(level, &format!("plugin {}", self.plugin), truncate(message, 4096).trim_end());
    }

    fn config(&mut self) -> String {
        self.config_json.clone()
    }

    fn state_get(&mut self, key: String) -> Option<String> {
        match self.state_writes.get(&key) {
            Some(written) => written.clone(),
            None => self.state.get(&key).cloned(),
        }
    }

    fn state_set(&mut self, key: String, value: Option<String>) {
        if key.len() > MAX_STATE_KEY_BYTES {
            self.state_error = Some(format!("state key of {} bytes (limit {MAX_STATE_KEY_BYTES})", key.len()));
            return;
        }
        if let Some(v) = &value {
            if v.len() > MAX_STATE_VALUE_BYTES {
                self.state_error =
                    Some(format!("state value for {key:?} of {} bytes (limit {MAX_STATE_VALUE_BYTES})", v.len()));
                return;
            }
        }
        let existed = match self.state_writes.get(&key) {
            Some(written) => written.is_some(),
            None => self.state.contains_key(&key),
        };
        match (existed, value.is_some()) {
            (false, true) => self.live_keys += 1,
            (true, false) => self.live_keys -= 1,
            _ => {}
        }
        self.state_writes.insert(key, value);
        if self.live_keys > MAX_STATE_KEYS {
            self.state_error = Some(format!("more than {MAX_STATE_KEYS} state keys"));
        }
    }
}

/// A wall clock stopped at the event's time, and a monotonic clock that never moves: a plugin
/// gets the time from `context.now-ms`, and cannot time anything to probe its host.
struct FrozenClock(Duration);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Start the thread that advances `engine`'s epoch, once per engine. A hook run has one
/// engine; the test harness has one per loaded plugin, and a budget is only enforced on an
/// engine whose epoch moves. The thread ends when its engine is dropped.
pub fn start_epoch_ticker(engine: &Engine) {
    static TICKING: Mutex<Vec<EngineWeak>> = Mutex::new(Vec::new());
    let mut ticking = TICKING.lock().unwrap_or_else(|e| e.into_inner());
    ticking.retain(|w| w.upgrade().is_some());
    if ticking.iter().any(|w| w.upgrade().is_some_and(|e| Engine::same(&e, engine))) {
        return;
    }
    ticking.push(engine.weak());
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("spawning the epoch thread");
}

/// Everything one call needs besides the event.
pub struct CallSpec<'a> {
    pub plugin: &'a str,
    pub config_json: &'a str,
    pub state: HashMap<String, String>,
    pub limits: &'a Limits,
    pub now_ms: u64,
}

fn new_store(engine: &Engine, spec: CallSpec<'_>) -> (Store<Sandbox>, MemoryOutputPipe, MemoryOutputPipe) {
    let stdout = MemoryOutputPipe::new(spec.limits.max_output_bytes);
    let stderr = MemoryOutputPipe::new(spec.limits.max_output_bytes);
    let frozen = Duration::from_millis(spec.now_ms);
    let wasi = WasiCtx::builder()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .wall_clock(FrozenClock(frozen))
        .monotonic_clock(FrozenClock(frozen))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let sandbox = Sandbox {
        plugin: spec.plugin.to_owned(),
        config_json: spec.config_json.to_owned(),
        live_keys: spec.state.len(),
        state: spec.state,
        state_writes: BTreeMap::new(),
        state_error: None,
        wasi,
        table: ResourceTable::new(),
        limiter: MemoryCap { max_bytes: (spec.limits.memory_mib as usize) << 20, denied: false },
    };
    let mut store = Store::new(engine, sandbox);
    store.limiter(|s| &mut s.limiter);
    let ticks = spec.limits.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1;
    store.set_epoch_deadline(ticks);
    (store, stdout, stderr)
}

/// Turn a trap or host error into a reason and a message.
fn classify(store: &Store<Sandbox>, error: wasmtime::Error, what: &str) -> CallError {
    if store.data().limiter.denied {
        return CallError::new("memory", format!("{what}: memory cap exceeded ({error})"));
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => CallError::new("timeout", format!("{what}: wall-clock budget exceeded")),
        Some(wasmtime::Trap::StackOverflow) => CallError::new("trap", format!("{what}: stack overflow")),
        Some(trap) => CallError::new("trap", format!("{what}: {trap}")),
        None => CallError::new("trap", format!("{what}: {error:#}")),
    }
}

/// Copy what the plugin printed into the log, so it never reaches the hook's stdout.
fn log_stdio(plugin: &str, stdout: &MemoryOutputPipe, stderr: &MemoryOutputPipe) {
    for (stream, pipe) in [("stdout", stdout), ("stderr", stderr)] {
        let bytes = pipe.contents();
        if !bytes.is_empty() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
            log::write(
                Level::Info,
                &format!("plugin {plugin} {stream}"),
                &format!("{} ({} bytes)", text.trim_end(), bytes.len()),
            );
        }
    }
}

/// Instantiate and call `describe`.
pub fn describe(
    engine: &Engine,
    linker: &Linker<Sandbox>,
    component: &Component,
    spec: CallSpec<'_>,
) -> Result<Manifest, CallError> {
    start_epoch_ticker(engine);
    let plugin = spec.plugin.to_owned();
    let (mut store, stdout, stderr) = new_store(engine, spec);
    let result = wit::Plugin::instantiate(&mut store, component, linker)
        .and_then(|p| p.hookmeter_plugin_handler().call_describe(&mut store));
    log_stdio(&plugin, &stdout, &stderr);
    result.map(Manifest::from_wit).map_err(|e| classify(&store, e, "describe"))
}

/// Instantiate and call `handle` for one event.
pub fn handle(
    engine: &Engine,
    linker: &Linker<Sandbox>,
    component: &Component,
    spec: CallSpec<'_>,
    event: &Event,
    ctx: &Context,
) -> Result<Reply, CallError> {
    start_epoch_ticker(engine);
    let plugin = spec.plugin.to_owned();
    let max_updates = spec.limits.max_updates;
    let (mut store, stdout, stderr) = new_store(engine, spec);
    let wit_event = t::Event {
        name: event.name.clone(),
        session_id: event.session_id.clone(),
        cwd: event.cwd.clone(),
        tool_name: event.tool_name.clone(),
        json: event.raw.clone(),
    };
    let wit_ctx =
        t::Context { project: ctx.project.clone(), branch: ctx.branch.clone(), host: ctx.host.clone(), now_ms: ctx.now_ms };
    let result = wit::Plugin::instantiate(&mut store, component, linker)
        .and_then(|p| p.hookmeter_plugin_handler().call_handle(&mut store, &wit_event, &wit_ctx));
    log_stdio(&plugin, &stdout, &stderr);
    let response = match result {
        Err(e) => return Err(classify(&store, e, "handle")),
        Ok(Err(message)) => return Err(CallError::new("error", truncate(message, 4096))),
        Ok(Ok(response)) => response,
    };
    if let Some(problem) = store.data_mut().state_error.take() {
        return Err(CallError::new("state_limit", problem));
    }
    if response.metrics.len() > max_updates {
        return Err(CallError::new(
            "too_many_updates",
            format!("returned {} updates (limit {max_updates})", response.metrics.len()),
        ));
    }
    let updates = response
        .metrics
        .into_iter()
        .map(|u| RawUpdate {
            name: u.name,
            labels: u.labels,
            op: match u.op {
                t::Op::Inc(v) => Op::Inc(v),
                t::Op::Set(v) => Op::Set(v),
                t::Op::Observe(v) => Op::Observe(v),
            },
        })
        .collect();
    let answer = response.output.map(|o| Answer {
        system_message: o.system_message.map(|s| truncate(s, MAX_OUTPUT_TEXT_BYTES)),
        additional_context: o.additional_context.map(|s| truncate(s, MAX_OUTPUT_TEXT_BYTES)),
        block: o.block.map(|s| truncate(s, MAX_OUTPUT_TEXT_BYTES)),
    });
    let state_writes = std::mem::take(&mut store.data_mut().state_writes);
    Ok(Reply { updates, answer, state_writes })
}

/// Cut `s` to at most `max` bytes on a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::MemoryCap;
    use wasmtime::{Engine, Ref, RefType, Store, Table, TableType};

    /// Table growth is capped like memory (8 bytes an element). Rust plugins cannot emit
    /// `table.grow` (their indirect-call table is static), so this drives the limiter through
    /// wasmtime's own Table API: growth within the cap succeeds, past it fails and is recorded.
    #[test]
    fn table_growth_is_capped_and_recorded() {
        let engine = Engine::default();
        let mut store = Store::new(&engine, MemoryCap { max_bytes: 1 << 20, denied: false });
        store.limiter(|cap| cap);
        let table = Table::new(&mut store, TableType::new(RefType::FUNCREF, 0, None), Ref::Func(None)).unwrap();
        table.grow(&mut store, 1000, Ref::Func(None)).unwrap();
        assert!(!store.data().denied);
        // 1 MiB / 8 bytes = 131072 elements at most.
        assert!(table.grow(&mut store, 200_000, Ref::Func(None)).is_err());
        assert!(store.data().denied, "the refusal must be recorded so the trap is reported as `memory`");
        assert_eq!(table.size(&store), 1000);
    }
}
