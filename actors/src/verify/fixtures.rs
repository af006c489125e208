//! Test fixtures: tiny Python services and process inspection.

use std::collections::BTreeMap;
use std::path::Path;

use super::ServiceSpec;

/// A provider: `/health`, a JSON endpoint, an event trigger, and a page that fetches JSON from
/// the service named by `API_PORT` (itself when unset) and shows it.
pub(crate) const PROVIDER_PY: &str = r#"
import http.server, json, os
port = int(os.environ["PORT"])
api_port = os.environ.get("API_PORT", str(port))
events = os.path.join(os.environ["FACTORY_EVENTS_DIR"], "orders.jsonl")
PAGE = """<!doctype html><html><body><h1>Orders</h1><p id="total">loading</p>
<script>fetch('http://127.0.0.1:%s/orders/1001').then(r => r.json())
.then(o => { document.getElementById('total').textContent = 'total is ' + o.total; });</script>
</body></html>"""
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path == "/health":
            self.reply(200, "{}")
        elif self.path == "/orders/1001":
            self.reply(200, json.dumps({"id": 1001, "total": 42, "created_at": "2026-01-01T00:00:00Z"}))
        elif self.path == "/":
            self.reply(200, PAGE % api_port, "text/html")
        else:
            self.reply(404, '{"error": "not found"}')
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        if self.path == "/orders":
            with open(events, "a") as f:
                f.write(json.dumps({"type": "order.created", "id": 1002, "created_at": "now"}) + "\n")
            self.reply(201, '{"id": 1002}')
        elif self.path == "/bad-event":
            with open(events, "a") as f:
                f.write("not json\n")
            self.reply(201, "{}")
        else:
            self.reply(404, "{}")
    def log_message(self, *args):
        pass
print("provider on", port, flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

/// Fails the test with a clear message when python3 is not installed.
pub(crate) fn require_python() {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "python3 not found: run scripts/setup.sh");
}

/// A service running the provider script from `dir`.
pub(crate) fn provider(name: &str, dir: &Path, env: BTreeMap<String, String>) -> ServiceSpec {
    std::fs::write(dir.join("provider.py"), PROVIDER_PY).unwrap();
    ServiceSpec {
        name: name.to_string(),
        cwd: dir.to_path_buf(),
        // Not a lone command, so `sh` stays as the python's parent: the group has two
        // processes, and clean-up must take both.
        command: "python3 provider.py; echo provider stopped".to_string(),
        health_path: Some("/health".to_string()),
        env,
    }
}

/// Pids of processes in group `pgid` that are still running (zombies, already dead but not
/// yet reaped by their parent, do not count).
pub(crate) fn live_members(pgid: u32) -> Vec<u32> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] = state, fields[2] = pgrp
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            live.push(pid);
        }
    }
    live
}
