"""Tests for the dashboard: declared reads match the code, and the server serves its files."""

import os
import re
import sys
import threading
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import serve  # noqa: E402


def declared_reads(contract):
    """The `reads` list of a [[consumes]] entry in factory.toml (one-line arrays)."""
    with open(os.path.join(ROOT, "factory.toml"), encoding="utf-8") as f:
        text = f.read()
    for block in text.split("[[consumes]]")[1:]:
        if f'contract = "{contract}"' in block:
            match = re.search(r"^reads\s*=\s*\[(.*)\]", block, re.M)
            return re.findall(r'"([^"]+)"', match.group(1)) if match else []
    return []


def fields_read_by_app_js():
    with open(os.path.join(ROOT, "app.js"), encoding="utf-8") as f:
        return re.findall(r'^\s*\["([^"]+)",\s*"[^"]*"\],', f.read(), re.M)


class FrontendTest(unittest.TestCase):
    def test_every_field_app_js_reads_is_declared(self):
        read = fields_read_by_app_js()
        self.assertIn("customer", read)
        missing = sorted(set(read) - set(declared_reads("orders.v1")))
        self.assertEqual(missing, [], "fields app.js reads but factory.toml does not declare")

    def test_serves_config_and_pages(self):
        server = serve.make_server(0, "http://api.example")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            def get(path):
                with urllib.request.urlopen(base + path, timeout=10) as resp:
                    return resp.status, resp.read().decode("utf-8")

            self.assertEqual(get("/config.js"), (200, 'window.API_URL = "http://api.example";\n'))
            self.assertEqual(get("/health")[0], 200)
            status, page = get("/")
            self.assertEqual(status, 200)
            self.assertIn('src="/app.js"', page)
            self.assertIn("FIELDS", get("/app.js")[1])
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    unittest.main()
