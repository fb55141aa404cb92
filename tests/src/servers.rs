//! The real Prometheus servers, from the Debian packages, for the end-to-end tests:
//! [`Pushgateway`] (`/usr/bin/prometheus-pushgateway`, in-memory only) and [`Prometheus`]
//! (`/usr/bin/prometheus`, scraping with `honor_labels: true` every second). Each listens on a
//! free 127.0.0.1 port, is ready when `start` returns, and is killed when dropped.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PUSHGATEWAY_BIN: &str = "/usr/bin/prometheus-pushgateway";
pub const PROMETHEUS_BIN: &str = "/usr/bin/prometheus";

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Label name → value.
pub type Labels = BTreeMap<String, String>;

/// A child process killed (and reaped) on drop, its output in a file for failure messages.
struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Server {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child =
            cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap_or_else(|e| {
                panic!("cannot start {name} ({e}); apt-get install prometheus prometheus-pushgateway")
            });
        Server { name, child: Some(child), log }
    }

    fn exited(&mut self) -> bool {
        self.child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until `ready` holds; `false` if the process exited first (e.g. port taken).
    fn wait_ready(&mut self, ready: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if self.exited() {
                return false;
            }
            if ready() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} not ready after {READY_TIMEOUT:?}; its log:\n{}", self.name, self.log_text());
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start a server on a free port, retrying with another port if the one picked was taken in
/// the meantime. `make` builds the command for a port; `ready` probes it.
fn start_on_free_port(
    name: &'static str,
    log: &Path,
    make: impl Fn(u16) -> Command,
    ready: impl Fn(u16) -> bool,
) -> (Server, u16) {
    let mut last_log = String::new();
    for _ in 0..5 {
        let port = crate::free_port();
        let mut server = Server::spawn(name, make(port), log.to_owned());
        if server.wait_ready(|| ready(port)) {
            return (server, port);
        }
        last_log = server.log_text();
    }
    panic!("{name} did not start; its last log:\n{last_log}");
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// An HTTP client for the tests' own queries; `ca_pem` trusts a test CA (and only it).
fn http_client(ca_pem: Option<&[u8]>) -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).no_proxy();
    if let Some(pem) = ca_pem {
        builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(pem).unwrap());
    }
    builder.build().unwrap()
}

/// How to secure a [`Pushgateway`]: a `--web.config.file` plus what the tests' client needs
/// to get through it.
#[derive(Default, Clone)]
pub struct WebConfig {
    /// The web config file (TLS and/or basic auth).
    pub file: Option<PathBuf>,
    /// PEM of the CA that signed the server certificate: the gateway serves https.
    pub ca_pem: Option<Vec<u8>>,
    /// A user and password the gateway accepts.
    pub basic_auth: Option<(String, String)>,
}

/// A running `prometheus-pushgateway` (no persistence: a restart starts empty).
pub struct Pushgateway {
    server: Server,
    port: u16,
    dir: tempfile::TempDir,
    web: WebConfig,
    client: reqwest::blocking::Client,
}

/// One group as the gateway holds it.
#[derive(Debug, Clone)]
pub struct Group {
    /// The grouping labels (job, instance, ...).
    pub labels: Labels,
    /// Every sample of every family in the group, grouping labels included.
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Group {
    /// The samples of family `name`.
    pub fn family(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

impl Pushgateway {
    pub fn start() -> Pushgateway {
        Pushgateway::start_with(WebConfig::default())
    }

    pub fn start_with(web: WebConfig) -> Pushgateway {
        let dir = tempfile::tempdir().unwrap();
        let client = http_client(web.ca_pem.as_deref());
        let mut gw = Pushgateway {
            server: Server { name: "pushgateway", child: None, log: PathBuf::new() },
            port: 0,
            dir,
            web,
            client,
        };
        let (server, port) = start_on_free_port(
            "pushgateway",
            &gw.dir.path().join("gateway.log"),
            |port| gw.command(port),
            |port| gw.ready(port),
        );
        gw.server = server;
        gw.port = port;
        gw
    }

    fn command(&self, port: u16) -> Command {
        let mut cmd = Command::new(PUSHGATEWAY_BIN);
        cmd.arg("--persistence.file=").arg(format!("--web.listen-address=127.0.0.1:{port}"));
        if let Some(file) = &self.web.file {
            cmd.arg(format!("--web.config.file={}", file.display()));
        }
        cmd
    }

    fn ready(&self, port: u16) -> bool {
        if !port_open(port) {
            return false;
        }
        let url = format!("{}/-/ready", self.url_on(port));
        self.authed(self.client.get(url)).send().is_ok_and(|r| r.status().is_success())
    }

    fn url_on(&self, port: u16) -> String {
        let scheme = if self.web.ca_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{port}")
    }

    fn authed(&self, request: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.web.basic_auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.url_on(self.port)
    }

    /// `127.0.0.1:PORT`, for Prometheus' scrape config.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stop it; what it held is gone (no persistence).
    pub fn stop(&mut self) {
        self.server.kill();
    }

    /// Start it again on the same port, empty.
    pub fn start_again(&mut self) {
        self.server.kill();
        let mut server = Server::spawn("pushgateway", self.command(self.port), self.dir.path().join("gateway.log"));
        let port = self.port;
        assert!(
            server.wait_ready(|| self.ready(port)),
            "pushgateway did not restart on port {port}:\n{}",
            server.log_text()
        );
        self.server = server;
    }

    /// The gateway's own log (for failure messages).
    pub fn log(&self) -> String {
        self.server.log_text()
    }

    /// All groups, from `/api/v1/metrics`.
    pub fn groups(&self) -> Vec<Group> {
        let url = format!("{}/api/v1/metrics", self.url());
        let response = self.authed(self.client.get(url)).send().expect("GET /api/v1/metrics");
        assert!(response.status().is_success(), "GET /api/v1/metrics: {}", response.status());
        let json: serde_json::Value = response.json_value();
        json["data"]
            .as_array()
            .expect("data[] in /api/v1/metrics")
            .iter()
            .map(|g| {
                let labels = labels_of(&g["labels"]);
                let mut samples = Vec::new();
                for (name, family) in g.as_object().unwrap() {
                    let Some(metrics) = family.get("metrics").and_then(|m| m.as_array()) else { continue };
                    for m in metrics {
                        // Histograms and summaries have no single value; the tests need counters and gauges.
                        let Some(value) = m.get("value").and_then(|v| v.as_str()) else { continue };
                        samples.push(Sample {
                            name: name.clone(),
                            labels: labels_of(&m["labels"]),
                            value: parse_value(value),
                        });
                    }
                }
                Group { labels, samples }
            })
            .collect()
    }

    /// The group whose `instance` label is `instance`.
    pub fn group(&self, instance: &str) -> Option<Group> {
        self.groups().into_iter().find(|g| g.labels.get("instance").map(String::as_str) == Some(instance))
    }

    /// `/metrics` as text (what Prometheus scrapes).
    pub fn metrics_text(&self) -> String {
        let url = format!("{}/metrics", self.url());
        self.authed(self.client.get(url)).send().and_then(|r| r.text()).expect("GET /metrics")
    }
}

/// A running Prometheus scraping some targets every second with `honor_labels: true`.
pub struct Prometheus {
    server: Server,
    port: u16,
    _dir: tempfile::TempDir,
    client: reqwest::blocking::Client,
}

impl Prometheus {
    /// Scrape `targets` (`host:port`, plain http) every second.
    pub fn start(targets: &[String]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: [{list}]\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let storage = dir.path().join("data");
        let client = http_client(None);
        let probe = client.clone();
        let (server, port) = start_on_free_port(
            "prometheus",
            &dir.path().join("prometheus.log"),
            |port| {
                let mut cmd = Command::new(PROMETHEUS_BIN);
                cmd.arg(format!("--config.file={}", config_path.display()))
                    .arg(format!("--storage.tsdb.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"));
                cmd
            },
            |port| {
                port_open(port)
                    && probe
                        .get(format!("http://127.0.0.1:{port}/-/ready"))
                        .send()
                        .is_ok_and(|r| r.status().is_success())
            },
        );
        Prometheus { server, port, _dir: dir, client }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }

    fn api(&self, query: &str) -> serde_json::Value {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/query", self.url()), &[("query", query)]).unwrap();
        let response = self.client.get(url).send().expect("Prometheus query");
        let json = response.json_value();
        assert_eq!(json["status"], "success", "query {query:?} failed: {json}");
        json["data"].clone()
    }

    /// An instant query: each series' labels and value (`vector` or `scalar` results).
    pub fn query(&self, promql: &str) -> Vec<(Labels, f64)> {
        let data = self.api(promql);
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (labels_of(&r["metric"]), parse_value(r["value"][1].as_str().unwrap())))
                .collect(),
            Some("scalar") => vec![(Labels::new(), parse_value(data["result"][1].as_str().unwrap()))],
            other => panic!("query {promql:?}: expected an instant vector, got {other:?}"),
        }
    }

    /// A range selector such as `x{a="b"}[10m]`: each series' raw scraped samples (time, value).
    pub fn samples(&self, selector: &str) -> Vec<(Labels, Vec<(f64, f64)>)> {
        let data = self.api(selector);
        assert_eq!(data["resultType"], "matrix", "{selector:?} is not a range selector");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let values = r["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), parse_value(p[1].as_str().unwrap())))
                    .collect();
                (labels_of(&r["metric"]), values)
            })
            .collect()
    }

    /// Poll `promql` (every 200 ms, up to `timeout`) until `done` accepts its result; the last
    /// result either way.
    pub fn wait_for(
        &self,
        promql: &str,
        timeout: Duration,
        done: impl Fn(&[(Labels, f64)]) -> bool,
    ) -> Vec<(Labels, f64)> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql);
            if done(&result) || Instant::now() >= deadline {
                return result;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

trait JsonBody {
    fn json_value(self) -> serde_json::Value;
}

impl JsonBody for reqwest::blocking::Response {
    fn json_value(self) -> serde_json::Value {
        let text = self.text().expect("response body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

fn labels_of(v: &serde_json::Value) -> Labels {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

/// A sample value as Prometheus writes it (`+Inf`, `NaN` included).
fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}
