"""Email worker: renders one email per order.created event.

Reads events from a file argument, or from $FACTORY_EVENTS_DIR/orders.jsonl. `--once` renders
what is there and exits; without it the worker follows the file, and answers GET /health on
$PORT when PORT is set.

Lines marked `factory:` are edit points for automated changes; keep them.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def render_email(event):
    """The email text for one order-events.v1 message."""
    lines = [
        f"To: {event['customer']}",
        f"Subject: Your order {event['orderId']}",
        "",
        f"Thank you for your order #{event['orderId']}.",
        f"Total: {event['total']:.2f}",
        # factory:reads order-events.v1 event
    ]
    return "\n".join(lines) + "\n"


def handle_line(line, out, err):
    """Render one event line; a bad event is reported, not fatal."""
    line = line.strip()
    if not line:
        return False
    try:
        event = json.loads(line)
        out.write(render_email(event) + "\n")
        out.flush()
        return True
    except KeyError as e:
        err.write(f"worker: error: event is missing field {e}: {line}\n")
    except (ValueError, TypeError) as e:
        err.write(f"worker: error: bad event ({e}): {line}\n")
    err.flush()
    return False


def events_path(args):
    if args:
        return args[0]
    events_dir = os.environ.get("FACTORY_EVENTS_DIR", "events")
    return os.path.join(events_dir, "orders.jsonl")


def serve_health(port):
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/health"
            body = b'{"status": "ok"}' if ok else b'{"error": "not found"}'
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"worker health on 127.0.0.1:{server.server_address[1]}", flush=True)


def main(argv):
    once = "--once" in argv
    args = [a for a in argv if a != "--once"]
    path = events_path(args)
    if once:
        if not os.path.exists(path):
            return 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                handle_line(line, sys.stdout, sys.stderr)
        return 0
    if os.environ.get("PORT"):
        serve_health(int(os.environ["PORT"]))
    offset = 0
    while True:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                f.seek(offset)
                for line in f:
                    handle_line(line, sys.stdout, sys.stderr)
                offset = f.tell()
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
