//! A plugin that misbehaves on purpose. Its `[plugins.NAME]` table picks how (`mode`); the
//! tests load it several times under different names to check that each misbehaviour is
//! contained while well-behaved plugins' updates still land.

use hookmeter_plugin_sdk::*;

struct Hostile;

impl Plugin for Hostile {
    fn describe() -> Manifest {
        manifest("hostile", "0.1.0")
            .on("*")
            .metric(counter("hostile_calls_total", "Calls that got as far as returning.", &["mode"]))
            .metric(gauge("hostile_value", "Whatever the mode reports.", &["key"]))
    }

    fn handle(_event: Event, _ctx: Context) -> Result<Response, String> {
        let config = config();
        let mode = config.get("mode").and_then(|m| m.as_str()).unwrap_or("ok").to_owned();
        let n = config.get("n").and_then(|n| n.as_u64()).unwrap_or(100_000) as usize;
        let ok = || response().inc("hostile_calls_total", &[("mode", &mode)], 1.0);
        match mode.as_str() {
            "ok" => Ok(ok()),
            "error" => Err("this plugin always fails".into()),
            "trap" => panic!("hostile plugin traps on purpose"),
            "loop" => {
                let mut i: u64 = 0;
                loop {
                    i = std::hint::black_box(i.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(ok().set("hostile_value", &[("key", "depth")], recurse(0) as f64)),
            "stdout" => {
                let line = "flood ".repeat(100);
                loop {
                    println!("{line}");
                    eprintln!("{line}");
                }
            }
            "invalid_names" => Ok(ok()
                .inc("not declared", &[], 1.0)
                .inc("hostile_calls_total", &[("mode", "x")], -5.0)
                .inc("hostile_calls_total", &[("wrong_label", "x")], 1.0)
                .set("hostile_calls_total", &[("mode", "x")], 1.0)
                .set("hostile_value", &[("key", "nan")], f64::NAN)),
            "many_updates" => {
                let mut r = ok();
                for i in 0..n {
                    r = r.set("hostile_value", &[("key", &i.to_string())], i as f64);
                }
                Ok(r)
            }
            "big_label" => Ok(ok().set("hostile_value", &[("key", &"x".repeat(n))], 1.0)),
            "read_file" => {
                let seen = std::fs::read_to_string("/etc/passwd").map(|s| s.len()).map_err(|e| e.to_string());
                log::warn(&format!("read /etc/passwd: {seen:?}"));
                Ok(ok().set("hostile_value", &[("key", "file_bytes")], seen.map(|n| n as f64).unwrap_or(-1.0)))
            }
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                log::warn(&format!("env vars: {vars:?}"));
                Ok(ok().set("hostile_value", &[("key", "env_vars")], vars.len() as f64))
            }
            "clock" => {
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as f64)
                    .unwrap_or(-1.0);
                let start = std::time::Instant::now();
                let mut spin = 0u64;
                for i in 0..1_000_000u64 {
                    spin = std::hint::black_box(spin ^ i);
                }
                let elapsed = start.elapsed().as_nanos() as f64;
                log::warn(&format!("wall clock {wall} ms, monotonic elapsed {elapsed} ns"));
                Ok(ok()
                    .set("hostile_value", &[("key", "wall_ms")], wall)
                    .set("hostile_value", &[("key", "elapsed_ns")], elapsed))
            }
            "socket" => {
                let port = config.get("port").and_then(|p| p.as_u64()).unwrap_or(9);
                let result = std::net::TcpStream::connect(("127.0.0.1", port as u16)).map(drop).map_err(|e| e.to_string());
                log::warn(&format!("connect 127.0.0.1:{port}: {result:?}"));
                Ok(ok().set("hostile_value", &[("key", "connected")], if result.is_ok() { 1.0 } else { 0.0 }))
            }
            "state_tamper" => {
                // There is no way to name another plugin's state: keys are per plugin.
                state::set("../project-sessions/active", "tampered");
                state::set("project-sessions", "tampered");
                Ok(ok())
            }
            "state_flood" => {
                for i in 0..n {
                    state::set(&format!("k{i}"), "v");
                }
                Ok(ok())
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 64]);
    1 + recurse(pad[depth as usize % 64] + 1)
}

export_plugin!(Hostile);
