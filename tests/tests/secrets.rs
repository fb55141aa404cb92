//! Secrets never leak: a bearer token and a basic-auth password — in PUSHGATEWAY_URL's
//! userinfo, in `[push]` keys, in PUSHGATEWAY_BEARER_TOKEN — appear in no output of `run`,
//! `flush`, `status`, `doctor`, `plugins --json`, `metrics`, on success and on failure, nor in
//! hookmeter.log, nor in any byte of the state dir (the SQLite store, its WAL, queue files).
//! A gateway that echoes the Authorization header back in its error body is scrubbed too.
//! (push.rs covers flush/status output for TLS + basic auth and the bearer header itself.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hookmeter_e2e::servers::{Pushgateway, WebConfig};
use hookmeter_e2e::{Env, event, fake_repo, plugin_wasm, run_with_stdin};
use serde_json::json;

const PASSWORD: &str = "pw-Canary-93qX";
const TOKEN: &str = "tok-Canary-7Hk2";

/// Every file under `dir`, recursively, as (path, bytes).
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p.display().to_string(), bytes));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Run every command that could show a secret, success and failure alike, and check all
/// output, the log and every byte of the state dir. Returns how many commands other than
/// doctor failed (non-zero).
fn assert_nothing_shows(env: &Env, vars: &[(&str, &str)], secrets: &[&str]) -> usize {
    let repo = fake_repo(env.dir.path(), "secretproj", "main");
    let with_vars = |args: &[&str]| {
        let mut cmd: Command = env.cmd(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    };
    let mut outputs: Vec<(String, Output)> = Vec::new();
    for (i, name) in ["SessionStart", "UserPromptSubmit", "Stop"].iter().enumerate() {
        let out = run_with_stdin(with_vars(&["run"]), &event(name, &format!("s{i}"), &repo, json!({"prompt": "x"})));
        assert_eq!(out.status.code(), Some(0), "run: {}", String::from_utf8_lossy(&out.stderr));
        outputs.push((format!("run {name}"), out));
    }
    for args in [
        &["flush"][..],
        &["flush", "--dry-run"],
        &["status"],
        &["status", "--json"],
        &["doctor"],
        &["plugins", "--json"],
        &["plugins"],
        &["metrics", "--all"],
    ] {
        outputs.push((args.join(" "), with_vars(args).output().unwrap()));
    }
    // Detached flushes started by the runs write to the log and store: let them finish.
    std::thread::sleep(Duration::from_secs(3));
    let mut failed = 0;
    for (what, out) in &outputs {
        // doctor also judges this machine (e.g. hooks not installed in Claude Code's
        // settings): its exit code says nothing about pushing.
        if !out.status.success() && what != "doctor" {
            failed += 1;
            println!("{what}: exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr).trim());
        }
        for s in secrets {
            assert!(!contains(&out.stdout, s), "{what} stdout shows {s}:\n{}", String::from_utf8_lossy(&out.stdout));
            assert!(!contains(&out.stderr, s), "{what} stderr shows {s}:\n{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let files = all_files(&env.state_dir());
    let names: Vec<&str> = files.iter().map(|(p, _)| p.rsplit('/').next().unwrap()).collect();
    assert!(names.contains(&"hookmeter.db") && names.contains(&"hookmeter.log"), "{names:?}");
    for (path, bytes) in &files {
        for s in secrets {
            assert!(!contains(bytes, s), "{path} holds {s}");
        }
    }
    // The secret really was in play (config or environment): the checks above could fail.
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains(secrets[0]) || vars.iter().any(|(_, v)| v.contains(secrets[0])));
    println!("checked {} commands ({failed} failed) and {} state files: {names:?}", outputs.len(), files.len());
    failed
}

fn basic_auth_gateway(dir: &Path) -> Pushgateway {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  alice: '{hash}'\n")).unwrap();
    Pushgateway::start_with(WebConfig {
        file: Some(web),
        ca_pem: None,
        basic_auth: Some(("alice".into(), PASSWORD.into())),
    })
}

/// Basic auth, with the password in PUSHGATEWAY_URL and then in `[push] password`: the
/// pushes succeed, then fail against a wrong user and against a closed port.
#[test]
fn basic_auth_password_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let gw = basic_auth_gateway(dir.path());
    let hostile = plugin_wasm("hostile").display().to_string();
    // A third-party plugin loaded too, so `plugins --json` lists more than the bundled one.
    let plugin = format!("[plugins.extra]\npath = {hostile:?}\nmode = \"ok\"\n");
    let push =
        "[push]\ninstance = \"e2e-secrets\"\ninterval_seconds = 0\nconnect_timeout_ms = 500\ntimeout_ms = 2000\n";

    let env = Env::with_config(&format!("{push}\n{plugin}"));
    let url = format!("http://alice:{PASSWORD}@{}", gw.address());
    assert_eq!(assert_nothing_shows(&env, &[("PUSHGATEWAY_URL", &url)], &[PASSWORD]), 0, "{}", env.log());
    assert!(gw.group("e2e-secrets").is_some(), "the pushes with the URL password did not arrive");

    let env = Env::with_config(&format!(
        "{push}url = \"{}\"\nusername = \"alice\"\npassword = \"{PASSWORD}\"\n\n{plugin}",
        gw.url()
    ));
    assert_eq!(assert_nothing_shows(&env, &[], &[PASSWORD]), 0, "{}", env.log());

    // Failure paths: rejected (wrong user, 401) and unreachable.
    let env =
        Env::with_config(&format!("{push}url = \"{}\"\nusername = \"mallory\"\npassword = \"{PASSWORD}\"\n", gw.url()));
    assert!(assert_nothing_shows(&env, &[], &[PASSWORD]) >= 1, "the wrong user's flush should fail");
    assert!(env.log().contains("401"), "{}", env.log());
    let closed = hookmeter_e2e::free_port();
    let env = Env::new();
    let url = format!("http://alice:{PASSWORD}@127.0.0.1:{closed}/");
    assert!(assert_nothing_shows(&env, &[("PUSHGATEWAY_URL", &url)], &[PASSWORD]) >= 1);
}

/// A gateway that echoes the Authorization header: basic credentials travel base64-encoded
/// there, so the host scrubs that form too (push::target::Auth::secrets). This test found
/// the leak when only the plain password was scrubbed.
#[test]
fn basic_auth_echoed_by_a_gateway_never_shows() {
    let push =
        "[push]\ninstance = \"e2e-secrets\"\ninterval_seconds = 0\nconnect_timeout_ms = 500\ntimeout_ms = 2000\n";
    let (port, _server) = echoing_gateway();
    let encoded = base64(&format!("alice:{PASSWORD}"));
    let env = Env::with_config(&format!("{push}url = \"http://alice:{PASSWORD}@127.0.0.1:{port}\"\n"));
    assert!(assert_nothing_shows(&env, &[], &[PASSWORD, &encoded]) >= 1);
    assert!(env.log().contains("you sent"), "{}", env.log());
}

/// Standard base64 with padding (what HTTP basic auth sends).
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A gateway stand-in that answers 500 with the request's Authorization header in its body.
fn echoing_gateway() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        // Bounded: serves for 30 s at most, then the listener closes.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut auth, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("authorization:") {
                    auth = line.trim_end().to_owned();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let text = format!("you sent {auth}");
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = (&stream).write_all(answer.as_bytes());
        }
    });
    (port, handle)
}

/// A bearer token, from PUSHGATEWAY_BEARER_TOKEN and from `[push] bearer_token`: accepted by
/// a plain gateway, and echoed back by a failing one — never shown.
#[test]
fn bearer_token_never_shows() {
    let gw = Pushgateway::start();
    let push = "[push]\ninstance = \"e2e-bearer\"\ninterval_seconds = 0\nconnect_timeout_ms = 500\ntimeout_ms = 2000\n";
    let env = Env::with_config(&format!("{push}url = \"{}\"\n", gw.url()));
    assert_eq!(assert_nothing_shows(&env, &[("PUSHGATEWAY_BEARER_TOKEN", TOKEN)], &[TOKEN]), 0, "{}", env.log());
    assert!(gw.group("e2e-bearer").is_some());

    let (port, _server) = echoing_gateway();
    let env = Env::with_config(&format!("{push}url = \"http://127.0.0.1:{port}\"\nbearer_token = \"{TOKEN}\"\n"));
    assert!(assert_nothing_shows(&env, &[], &[TOKEN]) >= 1, "the echoing gateway's 500 should fail the flush");
    let log = env.log();
    assert!(log.contains("you sent"), "the gateway's body was not reported: {log}");
    println!("echoed body as logged: {}", log.lines().find(|l| l.contains("you sent")).unwrap_or_default());
}
