//! The Grafana dashboard (`monitoring/grafana/dashboards/hookmeter.json`) as the tests see it:
//! its panels, query targets and variables, the metric and label names its expressions use,
//! and the expressions as Grafana would send them to Prometheus (variables substituted).
//! Shared by `monitoring_config` (static checks, parsing in a real Prometheus) and
//! `monitoring_e2e` (every query returns data from real hookmeter runs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// Claude Code's metrics, as the collector's Prometheus exporter names them.
pub const CLAUDE_CODE_METRICS: &[&str] = &[
    "claude_code_session_count_total",
    "claude_code_token_usage_tokens_total",
    "claude_code_cost_usage_USD_total",
    "claude_code_lines_of_code_count_total",
    "claude_code_code_edit_tool_decision_total",
    "claude_code_active_time_seconds_total",
    "claude_code_commit_count_total",
    "claude_code_pull_request_count_total",
];

/// What hookmeter pushes (bundled plugins and the host's own), with their label names.
pub const HOOKMETER_METRICS: &[(&str, &str, &[&str])] = &[
    (
        "claude_project_session_total",
        "counter",
        &["project", "branch"],
    ),
    ("claude_project_active", "gauge", &["project", "branch"]),
    (
        "claude_project_last_active_timestamp_seconds",
        "gauge",
        &["project", "branch"],
    ),
    (
        "claude_project_prompts_total",
        "counter",
        &["project", "branch"],
    ),
    (
        "claude_project_tool_uses_total",
        "counter",
        &["project", "branch", "tool"],
    ),
    ("exercise_reps_total", "counter", &["exercise", "mode"]),
    ("exercise_sessions_total", "counter", &["exercise", "mode"]),
    (
        "exercise_duration_seconds_total",
        "counter",
        &["exercise", "mode"],
    ),
    ("exercise_prompts_total", "counter", &["exercise", "mode"]),
    ("exercise_last_session_reps", "gauge", &["exercise"]),
    (
        "exercise_last_session_timestamp_seconds",
        "gauge",
        &["exercise"],
    ),
    (
        "hookmeter_plugin_errors_total",
        "counter",
        &["plugin", "reason"],
    ),
    ("hookmeter_events_total", "counter", &["event"]),
];

/// Series that are not Claude Code's or hookmeter's but that the dashboard may use: the
/// Pushgateway's per-group push times and Prometheus's own scrape health.
pub const INFRASTRUCTURE_METRICS: &[&str] =
    &["push_time_seconds", "push_failure_time_seconds", "up"];

/// Labels of Claude Code's metrics that the dashboard may select or group by.
pub const CLAUDE_CODE_LABELS: &[&str] = &[
    "type",
    "model",
    "decision",
    "tool_name",
    "language",
    "session_id",
    "user_account_uuid",
    "organization_id",
    "terminal_type",
    "app_version",
    "user_email",
];

/// Grafana's built-in variables, and what the tests put in their place.
pub const GRAFANA_BUILTINS: &[(&str, &str)] = &[
    ("__rate_interval", "5m"),
    ("__range", "1d"),
    ("__interval", "1m"),
    ("__range_s", "86400"),
    ("__range_ms", "86400000"),
    ("__interval_ms", "60000"),
];

pub fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("monitoring")
}

pub fn read_monitoring_file(rel: &str) -> String {
    let path = monitoring_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The dashboard JSON.
pub fn dashboard() -> Json {
    let rel = "grafana/dashboards/hookmeter.json";
    serde_json::from_str(&read_monitoring_file(rel))
        .unwrap_or_else(|e| panic!("monitoring/{rel} is not valid JSON: {e}"))
}

/// Every panel, rows' nested panels included.
pub fn all_panels(dash: &Json) -> Vec<&Json> {
    fn walk<'a>(panels: &'a [Json], out: &mut Vec<&'a Json>) {
        for p in panels {
            out.push(p);
            if let Some(children) = p.get("panels").and_then(Json::as_array) {
                walk(children, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        dash["panels"]
            .as_array()
            .expect("dashboard.panels is an array"),
        &mut out,
    );
    out
}

pub fn panel_name(p: &Json) -> String {
    format!(
        "panel {} ({:?})",
        p["id"],
        p["title"].as_str().unwrap_or("")
    )
}

/// (panel, target) for every query target in the dashboard.
pub fn all_targets(dash: &Json) -> Vec<(&Json, &Json)> {
    all_panels(dash)
        .into_iter()
        .flat_map(|p| {
            p.get("targets")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(move |t| (p, t))
        })
        .collect()
}

pub fn exprs(dash: &Json) -> Vec<(String, String)> {
    all_targets(dash)
        .into_iter()
        .map(|(p, t)| {
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: target {} has no expr", panel_name(p), t["refId"]));
            (panel_name(p), expr.to_owned())
        })
        .collect()
}

/// Names of the Grafana variables an expression refers to: `$name`, `${name}`, `${name:fmt}`,
/// `[[name]]`.
pub fn variable_refs(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let ident = |start: usize| -> usize {
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        end
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            let end = ident(i + 2);
            out.push(expr[i + 2..end].to_owned());
            i = end;
        } else if b[i] == b'$' {
            let end = ident(i + 1);
            if end > i + 1 {
                out.push(expr[i + 1..end].to_owned());
            }
            i = end.max(i + 1);
        } else if b[i] == b'[' && b.get(i + 1) == Some(&b'[') {
            let end = ident(i + 2);
            out.push(expr[i + 2..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The expression as Prometheus would receive it from Grafana with every multi-value
/// variable set to All (`.*`) and the built-ins set to typical values.
pub fn substitute(expr: &str, variables: &BTreeSet<String>) -> String {
    let value = |name: &str| -> String {
        if let Some((_, v)) = GRAFANA_BUILTINS.iter().find(|(n, _)| *n == name) {
            (*v).to_owned()
        } else if variables.contains(name) {
            ".*".to_owned()
        } else {
            panic!("expression `{expr}` uses undefined variable `{name}`")
        }
    };
    let mut out = String::new();
    let mut rest = expr;
    while let Some(pos) = rest.find(['$', '[']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let name_len = |s: &str| {
            s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len())
        };
        if let Some(inner) = tail.strip_prefix("${") {
            let close = inner
                .find('}')
                .unwrap_or_else(|| panic!("unclosed ${{ in `{expr}`"));
            let name = &inner[..name_len(inner)];
            out.push_str(&value(name));
            rest = &inner[close + 1..];
        } else if let Some(inner) = tail.strip_prefix("[[") {
            let n = name_len(inner);
            if n > 0 && inner[n..].starts_with("]]") {
                out.push_str(&value(&inner[..n]));
                rest = &inner[n + 2..];
            } else {
                out.push('[');
                rest = &tail[1..];
            }
        } else if let Some(inner) = tail.strip_prefix('$') {
            let n = name_len(inner);
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&value(&inner[..n]));
            }
            rest = &inner[n..];
        } else {
            out.push(tail.chars().next().unwrap());
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Metric names an expression selects: identifiers outside strings, label matchers, range
/// brackets and grouping clauses that are neither functions, aggregations nor keywords.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    // Aggregations come first: `sum by (x) (...)` puts `by`, not `(`, after the name.
    const KEYWORDS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
    ];
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_next_parens = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '{' || c == '[' || (c == '(' && skip_next_parens) {
            let close = match c {
                '{' => '}',
                '[' => ']',
                _ => ')',
            };
            skip_next_parens = false;
            while i < chars.len() && chars[i] != close {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let is_call = chars.get(j) == Some(&'(');
            if GROUPING.contains(&word.as_str()) {
                skip_next_parens = is_call;
            } else if !is_call && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                names.insert(word);
            }
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers, including 1e3 and 0x1f.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Label names an expression selects on (`{name=...}`) or groups by (`by`, `without`, `on`,
/// `ignoring`, `group_left`, `group_right`).
pub fn label_names(expr: &str) -> BTreeSet<String> {
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let ident = |i: usize| -> usize {
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == ':')
        {
            j += 1;
        }
        j
    };
    let skip_string = |mut i: usize| -> usize {
        let quote = chars[i];
        i += 1;
        while i < chars.len() && chars[i] != quote {
            i += if chars[i] == '\\' { 2 } else { 1 };
        }
        i + 1
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(i);
        } else if c == '{' {
            // Matchers: name op "value", ...
            i += 1;
            while i < chars.len() && chars[i] != '}' {
                if chars[i] == '"' || chars[i] == '\'' || chars[i] == '`' {
                    i = skip_string(i);
                } else if chars[i].is_ascii_alphabetic() || chars[i] == '_' {
                    let end = ident(i);
                    names.insert(chars[i..end].iter().collect());
                    i = end;
                } else {
                    i += 1;
                }
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = ident(i);
            let word: String = chars[i..end].iter().collect();
            i = end;
            if GROUPING.contains(&word.as_str()) {
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                if chars.get(i) == Some(&'(') {
                    let close = i + chars[i..]
                        .iter()
                        .position(|&c| c == ')')
                        .unwrap_or_else(|| panic!("unclosed ( in `{expr}`"));
                    let inner: String = chars[i + 1..close].iter().collect();
                    names.extend(
                        inner
                            .split(',')
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned),
                    );
                    i = close + 1;
                }
            }
        } else {
            i += 1;
        }
    }
    names
}

/// A template variable: its name, its query, and the data source it queries (if any).
pub struct Variable {
    pub name: String,
    pub query: String,
    /// `query`, `custom`, `interval`...
    pub kind: String,
    pub datasource_uid: Option<String>,
}

pub fn variables(dash: &Json) -> Vec<Variable> {
    dash["templating"]["list"]
        .as_array()
        .expect("templating.list is an array")
        .iter()
        .map(|v| {
            let name = v["name"]
                .as_str()
                .expect("variable without a name")
                .to_owned();
            let query = match &v["query"] {
                Json::String(s) => s.clone(),
                Json::Object(o) => o
                    .get("query")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                other => panic!("variable {name}: query {other}"),
            };
            Variable {
                name,
                query,
                kind: v["type"].as_str().unwrap_or_default().to_owned(),
                datasource_uid: v["datasource"]["uid"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// The names of the dashboard's variables, for [`substitute`].
pub fn variable_names(dash: &Json) -> BTreeSet<String> {
    variables(dash).into_iter().map(|v| v.name).collect()
}

/// The labels a target shows: those its legend names (`{{label}}`) and those of its
/// outermost `agg by (...)`, which a table shows as columns. A result series without one of
/// them shows a blank legend or cell.
pub fn shown_labels(target: &Json) -> Vec<String> {
    let expr = target["expr"].as_str().unwrap_or("");
    let legend = target["legendFormat"].as_str().unwrap_or("");
    let legend_labels = legend
        .split("{{")
        .skip(1)
        .filter_map(|s| s.split_once("}}"))
        .map(|(l, _)| l.trim().to_owned());
    let outer_by = expr
        .split_once('(')
        .and_then(|(head, rest)| head.trim().split_once(" by").map(|_| rest))
        .and_then(|rest| rest.split_once(')'))
        .map(|(labels, _)| {
            labels
                .split(',')
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    legend_labels.chain(outer_by).collect()
}
