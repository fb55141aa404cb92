//! Pushgateway faults: 500 answers, answers slower than `[push] timeout_ms`, connection resets,
//! and a real gateway that restarts empty while a real Prometheus scrapes it. Each failed flush
//! exits non-zero saying why, `hookmeter status` records it, the store loses nothing, and the
//! next flush to a working gateway restores the totals without Prometheus seeing a reset.
//! (push.rs covers a stopped gateway, a black hole, TLS, auth and redirects.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hookmeter_e2e::servers::{Prometheus, Pushgateway};
use hookmeter_e2e::{Env, event, fake_repo};
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Read the request, answer 500 with a body.
    ServerError,
    /// Read the request, answer only after 3 s (the client's timeout is 500 ms).
    Slow,
    /// Accept, then close with SO_LINGER 0: the client gets a TCP reset.
    Reset,
}

/// A loopback HTTP server that answers every request with one fault until dropped.
struct FaultServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl FaultServer {
    fn new(fault: Fault) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            // Bounded by the stop flag, which Drop sets.
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        served += 1;
                        serve(stream, fault);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            served
        });
        FaultServer { port, stop, thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stop and return how many connections it served.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, fault: Fault) {
    if let Fault::Reset = fault {
        reset(stream);
        return;
    }
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line.trim_end().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let answer: &[u8] = match fault {
        Fault::ServerError => {
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\nConnection: close\r\n\r\nstorage on fire, sorry\r\n"
        }
        _ => {
            std::thread::sleep(Duration::from_secs(3));
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
    };
    let _ = (&stream).write_all(answer);
}

/// Close with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a descriptor `stream` owns, with a valid `linger` of the given size.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(stream);
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn push_config(url: &str, instance: &str) -> String {
    format!("[push]\nurl = \"{url}\"\ninstance = \"{instance}\"\nconnect_timeout_ms = 500\ntimeout_ms = 500\n")
}

/// `count` prompts with pushing off, so no background flush runs.
fn prompts(env: &Env, repo: &std::path::Path, prefix: &str, count: usize) {
    for i in 0..count {
        let out = env.run_hook(&event("UserPromptSubmit", &format!("{prefix}{i}"), repo, json!({"prompt": "hi"})));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

fn status(env: &Env) -> serde_json::Value {
    let out = env.cmd(&["status", "--json"]).output().unwrap();
    assert!(out.status.success(), "hookmeter status: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn flush(env: &Env) -> (Output, Duration) {
    let t = Instant::now();
    let out = env.cmd(&["flush"]).output().unwrap();
    (out, t.elapsed())
}

const PROMPTS: &str = "claude_project_prompts_total{branch=\"main\",project=\"faultproj\"}";

/// 500, slow and reset: each flush fails clearly and is recorded, the store is unchanged, and
/// a later flush to a real gateway carries the exact totals.
#[test]
fn failed_pushes_are_clear_recorded_and_lose_nothing() {
    let env = Env::new();
    let repo = fake_repo(env.dir.path(), "faultproj", "main");
    prompts(&env, &repo, "p", 5);
    let cases: [(Fault, &[&str]); 3] = [
        (Fault::ServerError, &["500 Internal Server Error", "storage on fire, sorry"]),
        (Fault::Slow, &["no answer within 500 ms", "[push] timeout_ms"]),
        (Fault::Reset, &["reset"]),
    ];
    for (fault, expected) in cases {
        let before = env.metrics();
        let server = FaultServer::new(fault);
        env.set_config(&push_config(&server.url(), "e2e-faults"));
        let (out, took) = flush(&env);
        let served = server.finish();
        let stderr = text(&out.stderr);
        println!(
            "{fault:?}: flush exit {:?} after {took:?} ({served} connection(s)): {}",
            out.status.code(),
            stderr.trim()
        );
        assert!(!out.status.success(), "{fault:?}: flush succeeded");
        assert!(served >= 1, "{fault:?}: the flush never reached the server");
        for e in expected {
            assert!(stderr.contains(e), "{fault:?}: {stderr:?} lacks {e:?}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
        let st = status(&env);
        assert_eq!(st["record"]["last_result"], "failed", "{fault:?}: {st:#}");
        let recorded = st["record"]["last_error"].as_str().unwrap_or_default();
        assert!(recorded.contains(expected[0]), "{fault:?}: status says {recorded:?}");
        assert!(st["pending_generations"].as_u64().unwrap_or(0) >= 1, "{fault:?}: {st:#}");
        assert_eq!(env.metrics(), before, "{fault:?}: the failed flush changed the store");
        // More events between faults: the later flush must carry them too.
        env.set_config("");
        prompts(&env, &repo, &format!("{fault:?}"), 2);
    }
    let gw = Pushgateway::start();
    env.set_config(&push_config(&gw.url(), "e2e-faults"));
    let (out, _) = flush(&env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let group = gw.group("e2e-faults").expect("the group after a good flush");
    let prompts_at_gateway: Vec<f64> = group.family("claude_project_prompts_total").iter().map(|s| s.value).collect();
    assert_eq!(prompts_at_gateway, vec![11.0], "{group:#?}");
    assert_eq!(env.value(PROMPTS), 11.0);
    let st = status(&env);
    assert_eq!(st["record"]["last_result"], "ok", "{st:#}");
    assert_eq!(st["pending_generations"], 0, "{st:#}");
}

/// A gateway restarts empty while Prometheus scrapes it: Prometheus sees the series go stale
/// and come back with the full total after the next flush — never a counter reset.
#[test]
fn gateway_restart_restores_totals_without_a_counter_reset_in_prometheus() {
    let mut gw = Pushgateway::start();
    let prom = Prometheus::start(&[gw.address()]);
    let env = Env::new();
    let repo = fake_repo(env.dir.path(), "faultproj", "main");
    let query = "claude_project_prompts_total{instance=\"e2e-restart\",project=\"faultproj\"}";
    let with_push = push_config(&gw.url(), "e2e-restart");
    let push = |expected: f64| {
        env.set_config(&with_push);
        let (out, took) = flush(&env);
        assert!(out.status.success(), "{}", text(&out.stderr));
        env.set_config("");
        let seen = prom.wait_for(query, Duration::from_secs(30), |r| r.len() == 1 && r[0].1 == expected);
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].1, expected, "Prometheus never saw {expected}");
        took
    };
    prompts(&env, &repo, "a", 20);
    let first = push(20.0);

    gw.stop();
    prompts(&env, &repo, "b", 10);
    gw.start_again();
    assert!(gw.group("e2e-restart").is_none(), "the restarted gateway should be empty");
    // Let Prometheus scrape the empty gateway: the series goes stale.
    let gone = prom.wait_for(query, Duration::from_secs(30), |r| r.is_empty());
    assert!(gone.is_empty(), "the series never went stale: {gone:?}");

    let second = push(30.0);
    println!("flush before restart {first:?}, after restart {second:?}");
    let samples = prom.samples(&format!("{query}[5m]"));
    assert_eq!(samples.len(), 1, "{samples:?}");
    let values: Vec<f64> = samples[0].1.iter().map(|(_, v)| *v).collect();
    assert!(values.contains(&20.0) && values.contains(&30.0), "the range does not span the restart: {values:?}");
    assert!(values.windows(2).all(|w| w[1] >= w[0]), "a decrease was scraped: {values:?}");
    let resets = prom.query(&format!("resets({query}[5m])"));
    println!("Prometheus samples across the restart: {} ({} distinct values); resets = {resets:?}", values.len(), {
        let mut d = values.clone();
        d.dedup();
        d.len()
    });
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(resets[0].1, 0.0, "Prometheus saw a counter reset");
}
