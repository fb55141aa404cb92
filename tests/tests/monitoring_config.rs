//! Checks of `monitoring/`, the Docker Compose stack users start with `docker compose up -d`.
//!
//! Docker does not run where these tests run, so the stack is checked in pieces: the files are
//! parsed and cross-checked against each other (a mount target against the path the
//! provisioning file names, the data source uid against every panel...), `promtool` checks the
//! Prometheus configuration, and a real Prometheus, started on a free loopback port, parses
//! every dashboard query. One test goes further: it pushes hookmeter-shaped metrics into a real
//! Pushgateway, lets a Prometheus scrape it with the scrape job from `prometheus.yml`, and runs
//! the dashboard's hookmeter queries against that data.
//!
//! Needs `/usr/bin/prometheus`, `/usr/bin/promtool` and `/usr/bin/prometheus-pushgateway`
//! (Debian: `apt-get install prometheus prometheus-pushgateway`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";
const PUSHGATEWAY: &str = "/usr/bin/prometheus-pushgateway";

use hookmeter_e2e::dashboard::{
    self, CLAUDE_CODE_LABELS, CLAUDE_CODE_METRICS, GRAFANA_BUILTINS, HOOKMETER_METRICS,
    INFRASTRUCTURE_METRICS, Variable, all_panels, all_targets, dashboard, exprs, label_names,
    metric_names, monitoring_dir, panel_name, read_monitoring_file as read, shown_labels,
    substitute, variable_refs,
};

/// The queries the documentation quotes; the dashboard must contain them as written.
const DOCUMENTED_QUERIES: &[&str] = &[
    "sum(increase(exercise_reps_total[24h])) by (exercise)",
    "rate(claude_code_cost_usage_USD_total[1h])",
    "sum(rate(claude_code_token_usage_tokens_total[5m])) by (type)",
];

// ------------------------------------------------------------------------------------------
// Files

fn yaml(rel: &str) -> Yaml {
    serde_norway::from_str(&read(rel))
        .unwrap_or_else(|e| panic!("monitoring/{rel} is not valid YAML: {e}"))
}

/// `v[k1][k2]...` for YAML mappings, or panics naming the missing path.
fn at<'a>(v: &'a Yaml, path: &[&str], file: &str) -> &'a Yaml {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        cur = cur
            .get(*key)
            .unwrap_or_else(|| panic!("{file}: missing `{}`", path[..=i].join(".")));
    }
    cur
}

fn yaml_str(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

fn yaml_strings(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::Sequence(items) => items.iter().map(yaml_str).collect(),
        Yaml::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        other => panic!("expected a list of strings, found {other:?}"),
    }
}

fn provisioned_datasource_uid() -> String {
    let file = "grafana/provisioning/datasources/prometheus.yml";
    let doc = yaml(file);
    let sources = at(&doc, &["datasources"], file)
        .as_sequence()
        .expect("datasources is a list");
    let prom: Vec<&Yaml> = sources
        .iter()
        .filter(|d| d.get("type").and_then(Yaml::as_str) == Some("prometheus"))
        .collect();
    assert_eq!(
        prom.len(),
        1,
        "{file}: expected exactly one prometheus data source"
    );
    let ds = prom[0];
    assert_eq!(
        yaml_str(at(ds, &["url"], file)),
        "http://prometheus:9090",
        "{file}: url"
    );
    assert_eq!(
        at(ds, &["isDefault"], file).as_bool(),
        Some(true),
        "{file}: isDefault"
    );
    let uid = yaml_str(at(ds, &["uid"], file));
    assert!(!uid.is_empty(), "{file}: empty uid");
    uid
}

// ------------------------------------------------------------------------------------------
// (a) Prometheus configuration

#[test]
fn prometheus_config_passes_promtool_and_scrapes_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("prometheus.yml");
    std::fs::write(&copy, read("prometheus/prometheus.yml")).unwrap();
    let out = Command::new(PROMTOOL)
        .args(["check", "config"])
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PROMTOOL}: {e} (apt-get install prometheus)"));
    assert!(
        out.status.success(),
        "promtool check config monitoring/prometheus/prometheus.yml failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let file = "prometheus/prometheus.yml";
    let doc = yaml(file);
    assert_eq!(
        yaml_str(at(&doc, &["global", "scrape_interval"], file)),
        "15s"
    );
    let jobs: BTreeMap<String, &Yaml> = at(&doc, &["scrape_configs"], file)
        .as_sequence()
        .expect("scrape_configs is a list")
        .iter()
        .map(|j| (yaml_str(at(j, &["job_name"], file)), j))
        .collect();
    let targets = |job: &str| -> Vec<String> {
        let j = jobs
            .get(job)
            .unwrap_or_else(|| panic!("{file}: no scrape job `{job}`"));
        at(j, &["static_configs"], file)
            .as_sequence()
            .expect("static_configs is a list")
            .iter()
            .flat_map(|sc| yaml_strings(at(sc, &["targets"], file)))
            .collect()
    };
    assert_eq!(targets("prometheus"), ["localhost:9090"]);
    assert_eq!(targets("otel-collector"), ["otel-collector:8889"]);
    assert_eq!(targets("pushgateway"), ["pushgateway:9091"]);
    assert_eq!(
        jobs["pushgateway"]
            .get("honor_labels")
            .and_then(Yaml::as_bool),
        Some(true),
        "{file}: the pushgateway job needs honor_labels: true, or every pushed job/instance is overwritten"
    );
}

// ------------------------------------------------------------------------------------------
// (b) docker-compose.yml

struct ComposeService<'a> {
    name: &'a str,
    spec: &'a Yaml,
}

impl ComposeService<'_> {
    fn image_tag(&self) -> (String, String) {
        let image = yaml_str(at(self.spec, &["image"], self.name));
        let (repo, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{}: image `{image}` has no tag", self.name));
        (repo.to_owned(), tag.to_owned())
    }

    fn command(&self) -> Vec<String> {
        self.spec
            .get("command")
            .map(yaml_strings)
            .unwrap_or_default()
    }

    /// Container ports published on the host, as (host port, container port).
    fn published_ports(&self) -> Vec<(u16, u16)> {
        let Some(ports) = self.spec.get("ports") else {
            return Vec::new();
        };
        ports
            .as_sequence()
            .expect("ports is a list")
            .iter()
            .map(|p| {
                let text = yaml_str(p);
                let parts: Vec<&str> = text.split('/').next().unwrap().split(':').collect();
                let num = |s: &str| {
                    s.parse::<u16>()
                        .unwrap_or_else(|_| panic!("{}: bad port `{text}`", self.name))
                };
                match parts.as_slice() {
                    [c] => (num(c), num(c)),
                    [h, c] | [_, h, c] => (num(h), num(c)),
                    _ => panic!("{}: bad port `{text}`", self.name),
                }
            })
            .collect()
    }

    /// Mounts as (source, target); `source` starts with `.` for bind mounts.
    fn volumes(&self) -> Vec<(String, String)> {
        let Some(vols) = self.spec.get("volumes") else {
            return Vec::new();
        };
        vols.as_sequence()
            .expect("volumes is a list")
            .iter()
            .map(|v| {
                if let Some(text) = v.as_str() {
                    let mut parts = text.split(':');
                    let src = parts.next().unwrap().to_owned();
                    let dst = parts
                        .next()
                        .unwrap_or_else(|| panic!("{}: volume `{text}` has no target", self.name));
                    (src, dst.to_owned())
                } else {
                    (
                        yaml_str(at(v, &["source"], self.name)),
                        yaml_str(at(v, &["target"], self.name)),
                    )
                }
            })
            .collect()
    }

    fn env(&self) -> BTreeMap<String, String> {
        match self.spec.get("environment") {
            None => BTreeMap::new(),
            Some(Yaml::Mapping(m)) => m.iter().map(|(k, v)| (yaml_str(k), yaml_str(v))).collect(),
            Some(Yaml::Sequence(items)) => items
                .iter()
                .map(|i| {
                    let text = yaml_str(i);
                    let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
            Some(other) => panic!(
                "{}: environment must be a map or a list, found {other:?}",
                self.name
            ),
        }
    }
}

#[test]
fn compose_file_defines_a_pinned_healthy_persistent_stack() {
    let file = "docker-compose.yml";
    let doc = yaml(file);
    let services_map = at(&doc, &["services"], file)
        .as_mapping()
        .expect("services is a mapping");
    let services: BTreeMap<String, ComposeService> = services_map
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().expect("service names are strings");
            (name.to_owned(), ComposeService { name, spec: v })
        })
        .collect();
    let named_volumes: BTreeSet<String> = doc
        .get("volumes")
        .and_then(Yaml::as_mapping)
        .map(|m| m.keys().map(yaml_str).collect())
        .unwrap_or_default();

    let expected_images = [
        ("otel-collector", "otel/opentelemetry-collector-contrib"),
        ("prometheus", "prom/prometheus"),
        ("pushgateway", "prom/pushgateway"),
        ("grafana", "grafana/grafana"),
    ];
    for (name, repo) in expected_images {
        let svc = services
            .get(name)
            .unwrap_or_else(|| panic!("{file}: no service `{name}`"));
        let (image_repo, tag) = svc.image_tag();
        assert_eq!(image_repo, repo, "{file}: {name} image");
        assert!(
            tag != "latest"
                && tag.chars().any(|c| c.is_ascii_digit())
                && tag.matches('.').count() >= 2,
            "{file}: {name} image tag `{tag}` is not an exact version (x.y.z)"
        );
    }

    // Every service that keeps running restarts by itself; one-shot helpers must not.
    for svc in services.values() {
        let restart = svc.spec.get("restart").map(yaml_str).unwrap_or_default();
        if expected_images.iter().any(|(n, _)| *n == svc.name) {
            assert_eq!(
                restart, "unless-stopped",
                "{file}: {} restart policy",
                svc.name
            );
        }
        // Every image in the file is pinned, helpers included.
        let (_, tag) = svc.image_tag();
        assert_ne!(tag, "latest", "{file}: {} uses `latest`", svc.name);
    }

    // Published ports.
    let published: BTreeMap<u16, (&str, u16)> = services
        .values()
        .flat_map(|s| {
            s.published_ports()
                .into_iter()
                .map(move |(h, c)| (h, (s.name, c)))
        })
        .collect();
    for (port, service) in [
        (4317, "otel-collector"),
        (4318, "otel-collector"),
        (8889, "otel-collector"),
        (13133, "otel-collector"),
        (9090, "prometheus"),
        (9091, "pushgateway"),
        (3000, "grafana"),
    ] {
        let (svc, container) = published
            .get(&port)
            .unwrap_or_else(|| panic!("{file}: host port {port} is not published"));
        assert_eq!(
            (*svc, *container),
            (service, port),
            "{file}: host port {port}"
        );
    }

    // Health checks. The collector image is FROM scratch (no shell, no HTTP client), so its
    // health is exposed through the health_check extension instead (checked in
    // collector_config_*): the compose file must not pretend otherwise with a check that
    // cannot run.
    for name in ["prometheus", "pushgateway", "grafana"] {
        let hc = at(services[name].spec, &["healthcheck"], file);
        let test = yaml_strings(at(hc, &["test"], file));
        assert!(
            test.first().is_some_and(|t| t == "CMD" || t == "CMD-SHELL") && test.len() >= 2,
            "{file}: {name} healthcheck.test must be [CMD, ...] or [CMD-SHELL, ...], found {test:?}"
        );
        let port = match name {
            "prometheus" => "9090",
            "pushgateway" => "9091",
            _ => "3000",
        };
        assert!(
            test.iter()
                .any(|t| t.contains(&format!("localhost:{port}/"))),
            "{file}: {name} healthcheck does not probe its own port {port}: {test:?}"
        );
    }
    let collector_hc = services["otel-collector"].spec.get("healthcheck");
    assert!(
        collector_hc.is_none()
            || collector_hc
                .and_then(|h| h.get("disable"))
                .and_then(Yaml::as_bool)
                == Some(true),
        "{file}: otel-collector's image has no shell or HTTP client; a healthcheck there always fails"
    );

    // Mounts: bind sources exist, named volumes are declared, data lives on named volumes.
    for svc in services.values() {
        for (src, dst) in svc.volumes() {
            if src.starts_with('.') || src.starts_with('/') {
                let path = monitoring_dir().join(&src);
                assert!(
                    path.exists(),
                    "{file}: {} mounts {src}, which does not exist (monitoring/{src})",
                    svc.name
                );
            } else {
                assert!(
                    named_volumes.contains(&src),
                    "{file}: {} uses volume `{src}` (at {dst}), not declared under top-level volumes",
                    svc.name
                );
            }
        }
    }
    let named_mount = |svc: &str, target: &str| {
        services[svc]
            .volumes()
            .into_iter()
            .find(|(src, dst)| dst == target && !src.starts_with('.') && !src.starts_with('/'))
            .is_some()
    };
    assert!(
        named_mount("prometheus", "/prometheus"),
        "{file}: prometheus needs a named volume at /prometheus"
    );
    assert!(
        named_mount("pushgateway", "/data"),
        "{file}: pushgateway needs a named volume at /data"
    );
    assert!(
        named_mount("grafana", "/var/lib/grafana"),
        "{file}: grafana needs a named volume at /var/lib/grafana"
    );

    // Pushgateway persists to the named volume, so a restart keeps what hookmeter pushed.
    let pg = services["pushgateway"].command();
    assert!(
        pg.iter()
            .any(|a| a == "--persistence.file=/data/pushgateway.db"),
        "{file}: pushgateway command {pg:?}"
    );
    // The image runs as nobody and a fresh named volume is root-owned: something must make
    // /data writable before the Pushgateway starts, or persistence silently fails.
    let pg_user = services["pushgateway"].spec.get("user").map(yaml_str);
    let pg_data_volume = services["pushgateway"]
        .volumes()
        .into_iter()
        .find(|(_, d)| d == "/data")
        .map(|(s, _)| s);
    let init_fixes_ownership = services.values().any(|s| {
        let mounts_same_volume = s.name != "pushgateway"
            && s.volumes()
                .iter()
                .any(|(src, _)| Some(src) == pg_data_volume.as_ref());
        let chowns = s
            .spec
            .get("entrypoint")
            .or(s.spec.get("command"))
            .map(yaml_strings)
            .unwrap_or_default()
            .join(" ")
            .contains("chown");
        let pushgateway_waits = services["pushgateway"]
            .spec
            .get("depends_on")
            .and_then(|d| d.get(s.name))
            .and_then(|d| d.get("condition"))
            .and_then(Yaml::as_str)
            == Some("service_completed_successfully");
        mounts_same_volume && chowns && pushgateway_waits
    });
    assert!(
        init_fixes_ownership
            || matches!(pg_user.as_deref(), Some("0") | Some("root") | Some("0:0")),
        "{file}: nothing makes the pushgateway's /data volume writable for uid 65534"
    );

    let prom = services["prometheus"].command();
    for flag in [
        "--storage.tsdb.retention.time=30d",
        "--web.enable-lifecycle",
        "--config.file=/etc/prometheus/prometheus.yml",
    ] {
        assert!(
            prom.iter().any(|a| a == flag),
            "{file}: prometheus command lacks {flag}: {prom:?}"
        );
    }
    assert!(
        services["prometheus"]
            .volumes()
            .iter()
            .any(|(src, dst)| src == "./prometheus/prometheus.yml"
                && dst == "/etc/prometheus/prometheus.yml"),
        "{file}: prometheus must mount ./prometheus/prometheus.yml at /etc/prometheus/prometheus.yml"
    );

    // The collector reads the config file the compose file mounts.
    let collector = &services["otel-collector"];
    let config_target = collector
        .volumes()
        .into_iter()
        .find(|(src, _)| src == "./otel-collector-config.yaml")
        .map(|(_, dst)| dst)
        .unwrap_or_else(|| {
            panic!("{file}: otel-collector does not mount ./otel-collector-config.yaml")
        });
    assert!(
        collector
            .command()
            .iter()
            .any(|a| *a == format!("--config={config_target}")),
        "{file}: otel-collector command must be --config={config_target}, found {:?}",
        collector.command()
    );

    // Grafana: credentials, no sign-up, provisioning and dashboards where the files say.
    let env = services["grafana"].env();
    assert_eq!(
        env.get("GF_SECURITY_ADMIN_USER").map(String::as_str),
        Some("admin")
    );
    assert_eq!(
        env.get("GF_SECURITY_ADMIN_PASSWORD").map(String::as_str),
        Some("admin")
    );
    assert_eq!(
        env.get("GF_USERS_ALLOW_SIGN_UP").map(String::as_str),
        Some("false")
    );
    let grafana_mounts = services["grafana"].volumes();
    assert!(
        grafana_mounts
            .iter()
            .any(|(s, d)| s == "./grafana/provisioning" && d == "/etc/grafana/provisioning"),
        "{file}: grafana provisioning mount"
    );
    let provider_file = "grafana/provisioning/dashboards/dashboards.yml";
    let providers = yaml(provider_file);
    let provider = &at(&providers, &["providers"], provider_file)
        .as_sequence()
        .expect("providers is a list")[0];
    assert_eq!(yaml_str(at(provider, &["type"], provider_file)), "file");
    let dash_path = yaml_str(at(provider, &["options", "path"], provider_file));
    assert_eq!(dash_path, "/var/lib/grafana/dashboards");
    assert!(
        grafana_mounts
            .iter()
            .any(|(s, d)| s == "./grafana/dashboards" && *d == dash_path),
        "{file}: grafana must mount ./grafana/dashboards at {dash_path}, where {provider_file} looks"
    );
    if let Some(home) = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH") {
        let rel = home
            .strip_prefix(&format!("{dash_path}/"))
            .unwrap_or_else(|| panic!("home dashboard {home} is outside {dash_path}"));
        assert!(
            monitoring_dir()
                .join("grafana/dashboards")
                .join(rel)
                .exists(),
            "home dashboard {home} does not exist"
        );
    }
}

// ------------------------------------------------------------------------------------------
// (c) Collector configuration

#[test]
fn collector_config_converts_deltas_and_exports_for_prometheus() {
    let file = "otel-collector-config.yaml";
    let doc = yaml(file);
    assert_eq!(
        yaml_str(at(
            &doc,
            &["receivers", "otlp", "protocols", "grpc", "endpoint"],
            file
        )),
        "0.0.0.0:4317"
    );
    assert_eq!(
        yaml_str(at(
            &doc,
            &["receivers", "otlp", "protocols", "http", "endpoint"],
            file
        )),
        "0.0.0.0:4318"
    );

    let pipeline = at(&doc, &["service", "pipelines", "metrics"], file);
    let receivers = yaml_strings(at(pipeline, &["receivers"], file));
    let processors = yaml_strings(at(pipeline, &["processors"], file));
    let exporters = yaml_strings(at(pipeline, &["exporters"], file));
    assert_eq!(receivers, ["otlp"]);
    for p in ["memory_limiter", "deltatocumulative", "batch"] {
        assert!(
            processors.contains(&p.to_owned()),
            "{file}: metrics pipeline lacks processor {p}: {processors:?}"
        );
    }
    assert_eq!(
        processors.first().map(String::as_str),
        Some("memory_limiter"),
        "{file}: memory_limiter must come first"
    );
    assert!(
        exporters.contains(&"prometheus".to_owned()),
        "{file}: metrics pipeline lacks the prometheus exporter"
    );

    // Every component a pipeline names is defined (the collector refuses to start otherwise).
    for (kind, names) in [
        ("receivers", &receivers),
        ("processors", &processors),
        ("exporters", &exporters),
    ] {
        for n in names.iter() {
            at(&doc, &[kind, n], file);
        }
    }
    at(&doc, &["processors", "deltatocumulative"], file);

    let prom = at(&doc, &["exporters", "prometheus"], file);
    assert_eq!(yaml_str(at(prom, &["endpoint"], file)), "0.0.0.0:8889");
    assert_eq!(
        at(prom, &["resource_to_telemetry_conversion", "enabled"], file).as_bool(),
        Some(true)
    );
    let expiration = yaml_str(at(prom, &["metric_expiration"], file));
    assert!(
        expiration.ends_with(['s', 'm', 'h']),
        "{file}: metric_expiration `{expiration}` is not a duration"
    );

    assert_eq!(
        yaml_str(at(&doc, &["extensions", "health_check", "endpoint"], file)),
        "0.0.0.0:13133"
    );
    let extensions = yaml_strings(at(&doc, &["service", "extensions"], file));
    assert!(
        extensions.contains(&"health_check".to_owned()),
        "{file}: health_check is defined but not enabled in service.extensions"
    );
}

// ------------------------------------------------------------------------------------------
// (d) Dashboard

/// The dashboard's variables; the query ones must use the provisioned data source.
fn variables(dash: &Json, uid: &str) -> Vec<Variable> {
    let vars = dashboard::variables(dash);
    for v in &vars {
        if v.kind == "query" {
            assert_eq!(
                v.datasource_uid.as_deref(),
                Some(uid),
                "variable {}: datasource uid",
                v.name
            );
        }
    }
    vars
}

#[test]
fn dashboard_is_consistent_with_provisioning_and_metrics() {
    let uid = provisioned_datasource_uid();
    let dash = dashboard();
    assert_eq!(dash["title"], "Claude Code & hookmeter");
    assert!(
        dash["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && u.len() <= 40),
        "dashboard uid"
    );
    let schema = dash["schemaVersion"]
        .as_i64()
        .expect("schemaVersion is a number");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");

    let panels = all_panels(&dash);
    assert!(panels.len() >= 10, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    for p in &panels {
        let name = panel_name(p);
        let id = p["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}: id is not an integer"));
        assert!(ids.insert(id), "duplicate panel id {id}");
        let g = &p["gridPos"];
        let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| {
            g[k].as_i64()
                .unwrap_or_else(|| panic!("{name}: gridPos.{k} missing"))
        });
        assert!(
            h > 0 && w > 0 && x >= 0 && y >= 0 && x + w <= 24,
            "{name}: gridPos {g}"
        );
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: no title"
        );
        if p["type"] == "row" {
            if !p["datasource"].is_null() {
                assert_eq!(p["datasource"]["uid"], uid.as_str(), "{name}: datasource");
            }
            continue;
        }
        assert_eq!(
            p["datasource"]["type"], "prometheus",
            "{name}: datasource type"
        );
        assert_eq!(
            p["datasource"]["uid"],
            uid.as_str(),
            "{name}: datasource uid (provisioned: {uid})"
        );
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no targets"));
        assert!(!targets.is_empty(), "{name}: no targets");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert!(
                refs.insert(
                    t["refId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name}: target without refId"))
                ),
                "{name}: duplicate refId"
            );
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "{name}: empty expr"
            );
            if !t["datasource"].is_null() {
                assert_eq!(
                    t["datasource"]["uid"],
                    uid.as_str(),
                    "{name}: target datasource uid"
                );
            }
        }
    }
    // Rows that are collapsed carry their panels inside them: the walk must have seen those.
    let top = dash["panels"].as_array().unwrap().len();
    let nested: usize = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["panels"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(panels.len(), top + nested);

    // Template variables.
    let vars = variables(&dash, &uid);
    let expected_vars = [
        (
            "project",
            "label_values(claude_project_session_total, project)",
        ),
        (
            "model",
            "label_values(claude_code_cost_usage_USD_total, model)",
        ),
        ("exercise", "label_values(exercise_reps_total, exercise)"),
    ];
    let raw_vars = dash["templating"]["list"].as_array().unwrap();
    for (name, query) in expected_vars {
        let v = vars
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no template variable `{name}`"));
        assert_eq!(
            v.query.replace(' ', ""),
            query.replace(' ', ""),
            "variable {name}"
        );
        let raw = raw_vars.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(raw["multi"], true, "variable {name}: multi");
        assert_eq!(raw["includeAll"], true, "variable {name}: includeAll");
    }
    let defined: BTreeSet<String> = vars.iter().map(|v| v.name.clone()).collect();
    let all_exprs = exprs(&dash);
    let mut used = BTreeSet::new();
    for (panel, expr) in &all_exprs {
        for name in variable_refs(expr) {
            assert!(
                defined.contains(&name) || GRAFANA_BUILTINS.iter().any(|(b, _)| *b == name),
                "{panel}: `${name}` is not defined in templating.list: {expr}"
            );
            used.insert(name);
        }
    }
    for (name, _) in expected_vars {
        assert!(
            used.contains(name),
            "template variable `{name}` is defined but no query uses it"
        );
    }

    for q in DOCUMENTED_QUERIES {
        assert!(
            all_exprs.iter().any(|(_, e)| e.contains(q)),
            "no panel contains the documented query `{q}`"
        );
    }

    // Metric names: only real ones, and every one of them shown somewhere.
    let known: BTreeSet<&str> = CLAUDE_CODE_METRICS
        .iter()
        .copied()
        .chain(HOOKMETER_METRICS.iter().map(|(n, _, _)| *n))
        .chain(INFRASTRUCTURE_METRICS.iter().copied())
        .collect();
    let mut seen = BTreeSet::new();
    for (panel, expr) in &all_exprs {
        for m in metric_names(expr) {
            assert!(
                known.contains(m.as_str()),
                "{panel}: unknown metric `{m}` in {expr}"
            );
            seen.insert(m);
        }
    }
    for m in CLAUDE_CODE_METRICS
        .iter()
        .copied()
        .chain(HOOKMETER_METRICS.iter().map(|(n, _, _)| *n))
    {
        assert!(seen.contains(m), "no panel shows `{m}`");
    }
    // Label names: only ones the metrics carry (a typo in `by (...)` still parses, and
    // silently groups everything into one blank series).
    let known_labels: BTreeSet<&str> = HOOKMETER_METRICS
        .iter()
        .flat_map(|(_, _, labels)| labels.iter().copied())
        .chain(CLAUDE_CODE_LABELS.iter().copied())
        .chain(["job", "instance", "__name__"])
        .collect();
    for (panel, expr) in &all_exprs {
        for l in label_names(expr) {
            assert!(
                known_labels.contains(l.as_str()),
                "{panel}: unknown label `{l}` in {expr}"
            );
        }
    }
    assert!(
        all_exprs
            .iter()
            .any(|(_, e)| e.contains(r#"time() - push_time_seconds{job="hookmeter"}"#)),
        "no push-age panel"
    );
}

#[test]
fn metric_name_extraction_and_substitution_work() {
    // The helpers above decide what the dashboard test accepts; make sure they see what
    // matters.
    let names = metric_names(
        r#"sum by (model, type) (rate(foo_total{a=~"$x", b="c d"}[5m])) / on (x) group_left (y) bar_seconds and ignoring(z) up offset 5m"#,
    );
    assert_eq!(
        names,
        ["bar_seconds", "foo_total", "up"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(
        label_names(
            r#"sum by (model, type) (rate(foo{a=~"$x", b="c,d=e"}[5m])) / on(x) group_left (y) bar and ignoring(z) up"#
        ),
        ["a", "b", "model", "type", "x", "y", "z"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let vars: BTreeSet<String> = ["project".to_owned()].into();
    assert_eq!(
        substitute(
            r#"x{p=~"$project", q=~"${project:regex}", r="[[project]]"}[$__rate_interval] offset $__range"#,
            &vars
        ),
        r#"x{p=~".*", q=~".*", r=".*"}[5m] offset 1d"#
    );
    assert_eq!(
        variable_refs("a{b=~\"$project\"}[$__range] ${model:csv} [[exercise]]"),
        ["project", "__range", "model", "exercise"]
    );
    let nested = serde_json::json!({"panels": [{"id": 1, "type": "row", "panels": [{"id": 2}, {"id": 3}]}, {"id": 4}]});
    assert_eq!(
        all_panels(&nested)
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn readme_documents_every_metric_and_the_setup() {
    let readme = read("README.md");
    for m in CLAUDE_CODE_METRICS
        .iter()
        .copied()
        .chain(HOOKMETER_METRICS.iter().map(|(n, _, _)| *n))
    {
        assert!(
            readme.contains(m),
            "monitoring/README.md does not document `{m}`"
        );
    }
    for needle in [
        "CLAUDE_CODE_ENABLE_TELEMETRY=1",
        "OTEL_METRICS_EXPORTER=otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative",
        "PUSHGATEWAY_URL=http://localhost:9091",
        "docker compose up -d",
        "hookmeter status",
        "hookmeter flush",
        "hookmeter doctor",
        "hookmeter.log",
        "curl localhost:8889/metrics",
    ] {
        assert!(
            readme.contains(needle),
            "monitoring/README.md does not mention `{needle}`"
        );
    }
    for q in DOCUMENTED_QUERIES {
        assert!(
            readme.contains(q),
            "monitoring/README.md does not show the query `{q}`"
        );
    }
}

// ------------------------------------------------------------------------------------------
// (e) Real Prometheus and Pushgateway

/// A child process that is killed when the test ends, however it ends.
struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts `binary` on a free loopback port; `args` gets the port's address and the
    /// server's private temp dir.
    fn start(binary: &str, ready_path: &str, args: impl Fn(&str, &Path) -> Vec<String>) -> Server {
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing (apt-get install prometheus prometheus-pushgateway)"
        );
        let mut last_log = String::new();
        // A port picked here can be taken by another test before the server binds it: retry.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = format!("127.0.0.1:{port}");
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("server.log");
            let out = File::create(&log).unwrap();
            let child = Command::new(binary)
                .args(args(&addr, dir.path()))
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
            let mut server = Server {
                child,
                addr,
                log,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                if matches!(http(&server.addr, "GET", ready_path, b""), Ok((200, _))) {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last_log = server.log();
        }
        panic!("{binary} did not become ready; its log:\n{last_log}");
    }

    fn prometheus(config_yaml: &str) -> Server {
        Server::start(PROMETHEUS, "/-/ready", |addr, dir| {
            let config = dir.join("prometheus.yml");
            std::fs::write(&config, config_yaml).unwrap();
            vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address={addr}"),
                "--log.level=warn".to_owned(),
            ]
        })
    }

    /// Runs an instant query; `Err` carries Prometheus's error for a rejected query.
    fn query(&self, promql: &str) -> Result<Json, String> {
        let (status, body) = http(
            &self.addr,
            "GET",
            &format!("/api/v1/query?query={}", url_encode(promql)),
            b"",
        )
        .unwrap_or_else(|e| {
            panic!(
                "query to Prometheus at {} failed: {e}\n{}",
                self.addr,
                self.log()
            )
        });
        let json: Json = serde_json::from_str(&body)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
        if status == 200 && json["status"] == "success" {
            Ok(json["data"].clone())
        } else {
            Err(format!(
                "HTTP {status}: {} {}",
                json["errorType"], json["error"]
            ))
        }
    }
}

/// Minimal HTTP/1.0 client: no dependency, no chunked encoding to decode.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP response: {head}")))?;
    Ok((status, body.to_owned()))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn every_dashboard_query_parses_in_a_real_prometheus() {
    let dash = dashboard();
    let prom = Server::prometheus("global:\n  scrape_interval: 15s\nscrape_configs: []\n");
    let defined: BTreeSet<String> = variables(&dash, &provisioned_datasource_uid())
        .into_iter()
        .map(|v| v.name)
        .collect();

    let mut queries: Vec<(String, String)> = exprs(&dash)
        .into_iter()
        .map(|(panel, e)| (panel, substitute(&e, &defined)))
        .collect();
    // A label_values(metric, label) variable query is Grafana's, but its selector must parse.
    for v in variables(&dash, &provisioned_datasource_uid()) {
        let inner = v
            .query
            .trim()
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'));
        let (selector, _label) = inner.and_then(|i| i.rsplit_once(',')).unwrap_or_else(|| {
            panic!(
                "variable {}: expected label_values(<selector>, <label>), found `{}`",
                v.name, v.query
            )
        });
        queries.push((
            format!("variable {}", v.name),
            substitute(selector.trim(), &defined),
        ));
    }
    assert!(queries.len() > 10);

    // The checker itself must be able to fail.
    assert!(
        prom.query("sum(rate(foo[5m]) by (x)").is_err(),
        "Prometheus accepted a malformed query"
    );

    let failures: Vec<String> = queries
        .iter()
        .filter_map(|(panel, q)| {
            prom.query(q)
                .err()
                .map(|e| format!("{panel}: {e}\n    {q}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries do not parse:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
}

/// The text a hookmeter machine pushes; `n` scales the counters so two pushes differ.
fn hookmeter_exposition(n: f64, now: f64) -> String {
    let mut out = String::new();
    for (name, kind, labels) in HOOKMETER_METRICS {
        out.push_str(&format!("# TYPE {name} {kind}\n"));
        let values: Vec<(&str, &str)> = labels
            .iter()
            .map(|l| {
                let v = match *l {
                    "project" => "hookmeter",
                    "branch" => "main",
                    "tool" => "Edit",
                    "exercise" => "pushups",
                    "mode" => "quick",
                    "plugin" => "exercise",
                    "reason" => "timeout",
                    "event" => "UserPromptSubmit",
                    other => panic!("no sample value for label {other}"),
                };
                (*l, v)
            })
            .collect();
        let labels = values
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",");
        let value = match (*name, *kind) {
            (n_, _) if n_.ends_with("timestamp_seconds") => now,
            ("claude_project_active", _) => 1.0,
            (_, "gauge") => 10.0 + n,
            _ => 5.0 * n,
        };
        out.push_str(&format!("{name}{{{labels}}} {value}\n"));
    }
    out
}

#[test]
fn hookmeter_panels_show_data_pushed_through_a_real_pushgateway() {
    let pushgateway = Server::start(PUSHGATEWAY, "/-/ready", |addr, dir| {
        vec![
            format!("--web.listen-address={addr}"),
            format!(
                "--persistence.file={}",
                dir.join("pushgateway.db").display()
            ),
        ]
    });

    // prometheus.yml's own pushgateway job (honor_labels and all), pointed at the test's
    // Pushgateway and scraped every second instead of every 15.
    let file = "prometheus/prometheus.yml";
    let mut config = yaml(file);
    let job = at(&config, &["scrape_configs"], file)
        .as_sequence()
        .unwrap()
        .iter()
        .find(|j| j.get("job_name").and_then(Yaml::as_str) == Some("pushgateway"))
        .unwrap_or_else(|| panic!("{file}: no pushgateway job"))
        .clone();
    let mut job = job;
    job["static_configs"] =
        serde_norway::from_str(&format!("[{{targets: ['{}']}}]", pushgateway.addr)).unwrap();
    job["scrape_interval"] = Yaml::String("1s".into());
    config["scrape_configs"] = Yaml::Sequence(vec![job]);
    config["global"]["scrape_interval"] = Yaml::String("1s".into());
    let prom = Server::prometheus(&serde_norway::to_string(&config).unwrap());

    let instance = "test-host.example";
    let push = |n: f64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let (status, body) = http(
            &pushgateway.addr,
            "PUT",
            &format!("/metrics/job/hookmeter/instance/{instance}"),
            hookmeter_exposition(n, now).as_bytes(),
        )
        .unwrap();
        assert!(
            (200..300).contains(&status),
            "push rejected: HTTP {status} {body}\n{}",
            pushgateway.log()
        );
    };
    let wait_for = |q: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let data = prom.query(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            if data["result"].as_array().is_some_and(|r| !r.is_empty()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} ({q})\n{}",
                prom.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    push(1.0);
    // honor_labels: the pushed job and instance survive the scrape.
    wait_for(
        &format!(r#"exercise_reps_total{{job="hookmeter", instance="{instance}"}}"#),
        "the first push, with job=hookmeter",
    );
    push(2.0);
    wait_for(
        r#"exercise_reps_total{job="hookmeter"} == 10"#,
        "the second push",
    );
    // Two more scrapes of the second push, so every increase()/rate() has samples to compare.
    std::thread::sleep(Duration::from_millis(2500));

    let dash = dashboard();
    let defined: BTreeSet<String> = variables(&dash, &provisioned_datasource_uid())
        .into_iter()
        .map(|v| v.name)
        .collect();
    let claude_code: BTreeSet<&str> = CLAUDE_CODE_METRICS.iter().copied().collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (panel, target) in all_targets(&dash) {
        let expr = target["expr"].as_str().unwrap();
        let metrics = metric_names(expr);
        // Claude Code's series come from the collector, which is not part of this test.
        if metrics.iter().any(|m| claude_code.contains(m.as_str())) {
            continue;
        }
        checked += 1;
        let q = substitute(expr, &defined);
        let result = match prom.query(&q) {
            Ok(data) => data["result"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                failures.push(format!("{}: {e}\n    {q}", panel_name(panel)));
                continue;
            }
        };
        if result.is_empty() {
            failures.push(format!("{}: no data\n    {q}", panel_name(panel)));
            continue;
        }
        // Every label the legend shows must be on the result, or the legend is blank.
        // So must the labels of the outermost `agg by (...)`, which a table shows as columns.
        for label in shown_labels(target) {
            if result
                .iter()
                .any(|r| r["metric"][&label].as_str().unwrap_or("").is_empty())
            {
                failures.push(format!(
                    "{}: the result has no `{label}` label to show\n    {q}",
                    panel_name(panel)
                ));
            }
        }
    }
    assert!(checked >= 10, "only {checked} hookmeter queries checked");
    assert!(
        failures.is_empty(),
        "{} hookmeter dashboard queries fail on pushed data:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Push age is small right after a push.
    let age = prom
        .query(r#"time() - push_time_seconds{job="hookmeter"}"#)
        .unwrap();
    let age: f64 = age["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (0.0..60.0).contains(&age),
        "push age {age}s right after a push"
    );
}
