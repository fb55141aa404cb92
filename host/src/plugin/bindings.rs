//! Host-side bindings for each version of the plugin contract (`wit/`) this host supports.
//! A new contract version gets a module of its own here; the host converts every version to
//! the same internal types (`super::manifest`), so the rest of hookmeter never sees them.

pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });
}
