"""Serves the dashboard on $PORT, with /config.js pointing the page at the orders API.

The API's base URL comes from $FACTORY_URL_ORDERS_V1 (the sandbox sets it for the consumed
orders.v1 contract).
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.abspath(__file__))
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "application/javascript"),
}


def config_js(api_url):
    return f"window.API_URL = {json.dumps(api_url)};\n"


def make_handler(api_url):
    class Handler(BaseHTTPRequestHandler):
        def send(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/health":
                return self.send(200, b'{"status": "ok"}', "application/json")
            if path == "/config.js":
                return self.send(200, config_js(api_url).encode("utf-8"), "application/javascript")
            if path in FILES:
                name, content_type = FILES[path]
                with open(os.path.join(ROOT, name), "rb") as f:
                    return self.send(200, f.read(), content_type)
            return self.send(404, b"not found", "text/plain")

        def log_message(self, fmt, *args):
            sys.stderr.write("frontend: " + (fmt % args) + "\n")

    return Handler


def make_server(port, api_url):
    """A server on `port` (0 picks a free one)."""
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(api_url))


def main():
    port = int(os.environ.get("PORT", "8081"))
    api_url = os.environ.get("FACTORY_URL_ORDERS_V1", "http://127.0.0.1:8080")
    server = make_server(port, api_url)
    print(f"frontend listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
