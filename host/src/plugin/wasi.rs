//! The linker plugins are instantiated with: hookmeter's own `host` interface, and the WASI
//! interfaces linked on demand.
//!
//! `wasmtime_wasi::p2::add_to_linker_sync` defines all of WASI 0.2's CLI world, some 150
//! functions, and building that linker was a tenth of a hook run's instructions, while a Rust
//! plugin imports about 40 of them (`wasi:cli` and `wasi:io`, for std's stdio). So the linker
//! gains each WASI interface the first time a component importing it is instantiated. What a
//! plugin can do is unchanged: these are the same implementations `add_to_linker_sync` adds,
//! on the same `WasiCtx` (see [`super::sandbox`]) that grants nothing.

use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime::Engine;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{self as nonblocking, sync};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::bindings::v0_1 as wit;
use super::sandbox::Sandbox;

type AddInterface = fn(&mut Linker<Sandbox>) -> wasmtime::Result<()>;

/// `wasi:io`'s host functions reach only the resource table.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// Every interface `add_to_linker_sync` adds, by name without its version, with the same
/// implementation: the synchronous bindings where an interface has blocking functions, the
/// plain ones where it has none.
const INTERFACES: &[(&str, AddInterface)] = &[
    ("wasi:io/error", |l| sync::io::error::add_to_linker::<Sandbox, HasIo>(l, |t| t.ctx().table)),
    ("wasi:io/poll", |l| sync::io::poll::add_to_linker::<Sandbox, HasIo>(l, |t| t.ctx().table)),
    ("wasi:io/streams", |l| sync::io::streams::add_to_linker::<Sandbox, HasIo>(l, |t| t.ctx().table)),
    ("wasi:cli/environment", |l| nonblocking::cli::environment::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/exit", |l| nonblocking::cli::exit::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/stdin", |l| nonblocking::cli::stdin::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/stdout", |l| nonblocking::cli::stdout::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/stderr", |l| nonblocking::cli::stderr::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/terminal-input", |l| nonblocking::cli::terminal_input::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/terminal-output", |l| nonblocking::cli::terminal_output::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/terminal-stdin", |l| nonblocking::cli::terminal_stdin::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/terminal-stdout", |l| nonblocking::cli::terminal_stdout::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:cli/terminal-stderr", |l| nonblocking::cli::terminal_stderr::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)),
    ("wasi:clocks/wall-clock", |l| nonblocking::clocks::wall_clock::add_to_linker::<Sandbox, WasiClocks>(l, Sandbox::clocks)),
    ("wasi:clocks/monotonic-clock", |l| {
        nonblocking::clocks::monotonic_clock::add_to_linker::<Sandbox, WasiClocks>(l, Sandbox::clocks)
    }),
    ("wasi:random/random", |l| nonblocking::random::random::add_to_linker::<Sandbox, WasiRandom>(l, |t| t.ctx().ctx.random())),
    ("wasi:random/insecure", |l| {
        nonblocking::random::insecure::add_to_linker::<Sandbox, WasiRandom>(l, |t| t.ctx().ctx.random())
    }),
    ("wasi:random/insecure-seed", |l| {
        nonblocking::random::insecure_seed::add_to_linker::<Sandbox, WasiRandom>(l, |t| t.ctx().ctx.random())
    }),
    ("wasi:filesystem/types", |l| sync::filesystem::types::add_to_linker::<Sandbox, WasiFilesystem>(l, Sandbox::filesystem)),
    ("wasi:filesystem/preopens", |l| {
        nonblocking::filesystem::preopens::add_to_linker::<Sandbox, WasiFilesystem>(l, Sandbox::filesystem)
    }),
    ("wasi:sockets/network", |l| {
        nonblocking::sockets::network::add_to_linker::<Sandbox, WasiSockets>(l, &Default::default(), Sandbox::sockets)
    }),
    ("wasi:sockets/instance-network", |l| {
        nonblocking::sockets::instance_network::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)
    }),
    ("wasi:sockets/ip-name-lookup", |l| {
        nonblocking::sockets::ip_name_lookup::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)
    }),
    ("wasi:sockets/tcp", |l| sync::sockets::tcp::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)),
    ("wasi:sockets/tcp-create-socket", |l| {
        nonblocking::sockets::tcp_create_socket::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)
    }),
    ("wasi:sockets/udp", |l| sync::sockets::udp::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)),
    ("wasi:sockets/udp-create-socket", |l| {
        sync::sockets::udp_create_socket::add_to_linker::<Sandbox, WasiSockets>(l, Sandbox::sockets)
    }),
];

/// A linker that grows with the components it has seen.
pub struct PluginLinker {
    linker: Linker<Sandbox>,
    /// Which of [`INTERFACES`] are added.
    added: [bool; INTERFACES.len()],
}

impl PluginLinker {
    pub fn new(engine: &Engine) -> wasmtime::Result<PluginLinker> {
        let mut linker = Linker::new(engine);
        wit::Plugin::add_to_linker::<Sandbox, HasSelf<Sandbox>>(&mut linker, |s| s)?;
        Ok(PluginLinker { linker, added: [false; INTERFACES.len()] })
    }

    /// The linker, with every WASI interface `component` imports. An import that is not WASI
    /// (nor hookmeter's) is left for instantiation to report as missing.
    pub fn for_component(&mut self, engine: &Engine, component: &Component) -> wasmtime::Result<&Linker<Sandbox>> {
        for (import, _) in component.component_type().imports(engine) {
            let unversioned = import.split('@').next().unwrap_or(import);
            if let Some(i) = INTERFACES.iter().position(|(name, _)| *name == unversioned)
                && !self.added[i]
            {
                (INTERFACES[i].1)(&mut self.linker)?;
                self.added[i] = true;
            }
        }
        Ok(&self.linker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry links on its own, none twice, and each is one `add_to_linker_sync` adds
    /// (adding it again to that linker collides). That the table misses none is shown end to
    /// end: the Python plugin (componentize-py imports most of WASI) runs through it.
    #[test]
    fn every_interface_links_once() {
        let engine = Engine::default();
        let mut linker = Linker::<Sandbox>::new(&engine);
        for (name, add) in INTERFACES {
            add(&mut linker).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let mut full = Linker::<Sandbox>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut full).unwrap();
        for (name, add) in INTERFACES {
            assert!(add(&mut full).is_err(), "{name} is not part of add_to_linker_sync");
        }
    }
}
