//! project-sessions: how many Claude Code sessions, prompts and tool uses each project and
//! branch gets, which are active now, and when each was last used.

use hookmeter_plugin_sdk::*;

struct ProjectSessions;

/// Sessions that sent no event for this long are no longer counted as active: Claude Code can
/// be killed before it sends SessionEnd.
const ACTIVE_EXPIRY_MS: u64 = 12 * 60 * 60 * 1000;

impl Plugin for ProjectSessions {
    fn describe() -> Manifest {
        let pb: &[&str] = &["project", "branch"];
        manifest("project-sessions", env!("CARGO_PKG_VERSION"))
            .on("SessionStart")
            .on("SessionEnd")
            .on("UserPromptSubmit")
            .on_tool("PostToolUse", "*")
            .metric(counter("claude_project_session_total", "Claude Code sessions started, by project and branch.", pb))
            .metric(gauge("claude_project_active", "Claude Code sessions active now, by project and branch.", pb))
            .metric(gauge(
                "claude_project_last_active_timestamp_seconds",
                "Unix time of the last Claude Code event in this project and branch.",
                pb,
            ))
            .metric(counter("claude_project_prompts_total", "Prompts submitted, by project and branch.", pb))
            .metric(counter(
                "claude_project_tool_uses_total",
                "Tool calls Claude Code ran, by project, branch and tool.",
                &["project", "branch", "tool"],
            ))
    }

    fn handle(event: Event, ctx: Context) -> Result<Response, String> {
        let branch = ctx.branch.as_deref().unwrap_or("none");
        let pb = [("project", ctx.project.as_str()), ("branch", branch)];
        let mut out = response().set(
            "claude_project_last_active_timestamp_seconds",
            &pb,
            ctx.now_ms as f64 / 1000.0,
        );
        let active_key = format!("active/{}/{}", ctx.project, branch);
        match event.name.as_str() {
            "SessionStart" => {
                // After /compact the same session starts again; it is not a new session.
                if event.str_field("source").as_deref() != Some("compact") {
                    out = out.inc("claude_project_session_total", &pb, 1.0);
                }
                let n = update_active(&active_key, &event.session_id, ctx.now_ms, true);
                out = out.set("claude_project_active", &pb, n as f64);
            }
            "SessionEnd" => {
                let n = update_active(&active_key, &event.session_id, ctx.now_ms, false);
                out = out.set("claude_project_active", &pb, n as f64);
            }
            "UserPromptSubmit" => out = out.inc("claude_project_prompts_total", &pb, 1.0),
            "PostToolUse" => {
                let tool = event.tool_name.as_deref().unwrap_or("unknown");
                out = out.inc(
                    "claude_project_tool_uses_total",
                    &[pb[0], pb[1], ("tool", tool)],
                    1.0,
                );
            }
            _ => {}
        }
        Ok(out)
    }
}

/// Record a session as active (or ended) under `key` and return how many sessions are active
/// there. State: a JSON object of session id → last-seen milliseconds.
fn update_active(key: &str, session: &str, now_ms: u64, active: bool) -> usize {
    let mut sessions: serde_json::Map<String, serde_json::Value> = state::get(key)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    sessions.retain(|_, seen| {
        seen.as_u64().is_some_and(|t| now_ms.saturating_sub(t) < ACTIVE_EXPIRY_MS)
    });
    if active {
        sessions.insert(session.to_owned(), now_ms.into());
    } else {
        sessions.remove(session);
    }
    if sessions.is_empty() {
        state::remove(key);
    } else {
        state::set(key, &serde_json::Value::Object(sessions.clone()).to_string());
    }
    sessions.len()
}

export_plugin!(ProjectSessions);
