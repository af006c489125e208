//! A chat bot and a reviewer against real processes: a coordinator serving the HTTP API and two
//! nodes over QUIC. The bot submits an outcome with a bearer token and follows the run's event
//! stream to the end; the reviewer opens the finished run's page in headless Chromium, sees the
//! proof (findings, waves, rollback, diffs, the dashboard screenshot) and approves the rollout.
//!
//! The page test once found that a run delivered after the coordinator started had "no bundle":
//! bundle folders were only learned from the store at start. Opening the page right after the
//! stream says `delivered` is what guards that.
//!
//! With `FACTORY_WRITE_DOCS=1` the test also writes docs/reviewer-page.png.
// Helpers outside #[test] functions unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../coordinator/tests/support/client.rs"]
mod client;
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Certs, Proc};

/// How long the whole run may take, submit to delivered.
const RUN_DEADLINE: Duration = Duration::from_secs(600);
/// How long one Chromium load may take.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

/// The coordinator with its HTTP API, two nodes, and where things are.
struct Cluster {
    _dir: tempfile::TempDir,
    state: std::path::PathBuf,
    http: SocketAddr,
    _procs: Vec<Proc>,
}

fn start_cluster() -> Cluster {
    let (dir, path) = support::scratch();
    let org = path.join("org");
    let out = factory(&["example-org", "--out", org.to_str().unwrap()]);
    let org_toml = out.trim().to_string();
    let state = path.join("state");
    let certs = Certs::new();
    let (coordinator, addr) = support::start_coordinator_with(
        &certs,
        &[],
        &[
            "--org",
            &org_toml,
            "--state",
            state.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
    );
    let line = coordinator.wait_stdout("http listening on ", Duration::from_secs(20));
    let http: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    let mut procs = vec![coordinator];
    for name in ["node-1", "node-2"] {
        let work = path.join(format!("work-{name}"));
        let extra = ["--work", work.to_str().unwrap()];
        procs.push(support::start_node_with(&certs, &addr, name, &extra));
    }
    // Every repo owned by a live node before the bot submits, so placement does not wait.
    support::wait_until(
        "both nodes up and every repo owned",
        Duration::from_secs(30),
        || {
            let s = support::status(&certs, &addr);
            let up = s["nodes"]
                .as_array()?
                .iter()
                .filter(|n| n["up"] == true)
                .count();
            let owned = s["shards"]
                .as_array()?
                .iter()
                .all(|s| !s["owner"].is_null());
            (up == 2 && owned).then_some(())
        },
    );
    Cluster {
        _dir: dir,
        state,
        http,
        _procs: procs,
    }
}

/// `factory <args>`; its stdout, failing the test on a non-zero exit.
fn factory(args: &[&str]) -> String {
    let out = Command::new(support::factory_bin())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "factory {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new bearer token, as an operator makes one.
fn token(state: &Path, name: &str, scopes: &str) -> String {
    let state = state.to_str().unwrap();
    let args = [
        "tokens", "add", "--name", name, "--scopes", scopes, "--state", state,
    ];
    factory(&args).trim().to_string()
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> client::Response {
    let auth = format!("Bearer {token}");
    client::send(addr, "GET", path, &[("Authorization", &auth)], b"").await
}

async fn post(addr: SocketAddr, path: &str, token: &str, body: &str) -> client::Response {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    client::send(addr, "POST", path, &headers, body.as_bytes()).await
}

/// Follow `/v1/runs/{id}/events` until the server ends it; returns every record sent.
async fn follow(addr: SocketAddr, id: &str, token: &str) -> Vec<Value> {
    let auth = format!("Bearer {token}");
    let path = format!("/v1/runs/{id}/events");
    let mut stream = client::open(addr, "GET", &path, &[("Authorization", &auth)], b"").await;
    assert_eq!(stream.status, 200);
    let deadline = Instant::now() + RUN_DEADLINE;
    let mut records = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the run did not end within {RUN_DEADLINE:?}"
        );
        let Some(event) = stream.next_event_within(left).await else {
            return records;
        };
        assert_eq!(event.event, "run");
        records.push(serde_json::from_str(&event.data).unwrap());
    }
}

/// The steps a follower saw, in the order it first saw them. Planning ends inside the step that
/// starts the changes, so `planned` shows as the record's `run.planned` event rather than as a
/// status of its own.
fn milestones(records: &[Value]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in records {
        let planned = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "run.planned");
        let status = r["status"].as_str().unwrap().to_string();
        for step in [planned.then(|| "planned".to_string()), Some(status)]
            .into_iter()
            .flatten()
        {
            if !seen.contains(&step) {
                seen.push(step);
            }
        }
    }
    seen
}

/// The text between `<section id="repo-NAME"`-style anchors: from the heading with `id` to the
/// next `<h2`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on the page"));
    let rest = &html[start..];
    let end = rest[1..].find("<h2").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn a_bot_ships_an_outcome_and_a_reviewer_approves_it_from_the_page() {
    // A missing browser is a setup problem: say so before starting any process.
    let chromium = actors::verify::chromium_path()
        .unwrap_or_else(|e| panic!("{e}; install Debian's `chromium` or set FACTORY_CHROMIUM"));
    assert!(chromium.is_file());
    let cluster = start_cluster();
    let bot = token(&cluster.state, "chat-bot", "submit,read");
    let reviewer = token(&cluster.state, "reviewer", "read,approve");
    let addr = cluster.http;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The bot submits and gets the run id at once.
        let title = "expose the order creation time to the dashboard and the email worker";
        let body = serde_json::json!({
            "title": title,
            "change_specs": [
                "add orders.v1 createdAt string:date-time",
                "add order-events.v1 createdAt string:date-time",
            ],
        });
        let r = post(addr, "/v1/runs", &bot, &body.to_string()).await;
        assert_eq!(r.status, 202, "{}", r.text());
        let id = r.json()["run_id"].as_str().unwrap().to_string();

        // It follows the whole run; the stream ends once the run is final.
        let records = follow(addr, &id, &bot).await;
        let seen = milestones(&records);
        let want = ["planned", "changing", "verifying", "delivered"];
        let order: Vec<&String> = seen.iter().filter(|s| want.contains(&s.as_str())).collect();
        assert_eq!(order, want, "the stream showed {seen:?}");
        let last = records.last().unwrap();
        assert_eq!(last["status"], "delivered", "{last:#}");
        assert!(last["bundle_dir"].is_string());

        // The runs list page lists it, for a browser holding the token in the query.
        let url = |path: &str| format!("http://{addr}{path}?token={reviewer}");
        let list = actors::verify::dump_dom(&url("/"), BROWSER_DEADLINE)
            .await
            .unwrap();
        assert!(
            list.contains(&format!("/runs/{id}/")) && list.contains(title),
            "{list}"
        );

        // The reviewer's page shows what they need to decide.
        let page_url = url(&format!("/runs/{id}/"));
        let dom = actors::verify::dump_dom(&page_url, BROWSER_DEADLINE)
            .await
            .unwrap();
        check_page(&dom, title);
        let backend = section(&dom, "repo-backend");
        assert!(
            backend.contains("<span class=\"add\">") && backend.contains("createdAt"),
            "no diff of backend: {backend}"
        );

        // The dashboard screenshot on the page loads, as a PNG.
        let src = img_src(&dom);
        let png = get(addr, &format!("/runs/{id}/{src}"), &reviewer).await;
        assert_eq!(png.status, 200, "{src}: {}", png.text());
        assert_eq!(png.header("content-type"), Some("image/png"));
        assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n") && png.body.len() > 2000);

        // And the page itself renders to a real PNG.
        let shots = tempfile::tempdir().unwrap();
        let shot =
            actors::verify::screenshot(&page_url, &shots.path().join("page.png"), BROWSER_DEADLINE)
                .await
                .unwrap();
        assert!(
            shot.bytes > 10_000,
            "a rendered page is more than {} bytes",
            shot.bytes
        );
        if std::env::var_os("FACTORY_WRITE_DOCS").is_some_and(|v| v == "1") {
            write_docs_screenshot(&page_url).await;
        }

        // Approving takes the approve scope; the first decision stands.
        let approve = format!("/v1/runs/{id}/approve");
        let denied = post(addr, &approve, &bot, "{}").await;
        assert_eq!(denied.status, 403, "{}", denied.text());
        let ok = post(addr, &approve, &reviewer, r#"{"note":"waves look right"}"#).await;
        assert_eq!(ok.status, 200, "{}", ok.text());
        let approval = &ok.json()["approval"];
        assert_eq!(approval["approved"], true);
        assert_eq!(approval["by"], "reviewer");
        let again = post(addr, &approve, &reviewer, "{}").await;
        assert_eq!(again.status, 409, "{}", again.text());
        let run = get(addr, &format!("/v1/runs/{id}"), &bot).await.json();
        assert_eq!(run["approval"]["note"], "waves look right");
    });
}

/// What the reviewer must see on the run's page.
fn check_page(dom: &str, title: &str) {
    for (what, needle) in [
        ("the title", title),
        ("the status", "class=\"status delivered\""),
        ("the casing finding", "NAMING/casing-mismatch"),
        ("the finding's fix", "serialize"),
        ("the rollout", "id=\"rollout\""),
        ("the rollback", "id=\"rollback\""),
        ("a re-run command", "git fetch origin"),
    ] {
        assert!(dom.contains(needle), "the page lacks {what} ({needle:?})");
    }
    // Waves in order: backend deploys in a wave before both of its readers.
    let rollout = section(dom, "rollout");
    let wave_of = |repo: &str| {
        rollout
            .split("<li")
            .skip(1)
            .position(|w| w.contains(repo))
            .unwrap_or_else(|| panic!("{repo} is in no wave: {rollout}"))
    };
    assert!(wave_of("backend") < wave_of("frontend") && wave_of("backend") < wave_of("worker"));
    // Rollback undoes backend last.
    let rollback = section(dom, "rollback");
    let rows: Vec<&str> = rollback.split("<tr").skip(2).collect();
    assert!(
        rows.len() >= 3 && rows.last().unwrap().contains("backend"),
        "{rollback}"
    );
}

/// The `src` of the first `<img>` on the page.
fn img_src(dom: &str) -> String {
    let img = &dom[dom.find("<img").expect("no <img> on the page")..];
    let src = &img[img.find("src=\"").expect("an <img> without src") + 5..];
    let src = &src[..src.find('"').unwrap()];
    assert!(src.ends_with(".png"), "{src}");
    src.to_string()
}

/// docs/reviewer-page.png: a tall window, so the summary, findings and checks fit in one image.
async fn write_docs_screenshot(page_url: &str) {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reviewer-page.png");
    actors::verify::screenshot_sized(page_url, &out, BROWSER_DEADLINE, (1280, 2000))
        .await
        .unwrap();
    eprintln!("wrote {}", out.display());
}
