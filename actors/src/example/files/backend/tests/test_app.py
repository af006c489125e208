"""Tests for the orders API: handlers through a real server on a free port."""

import json
import os
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import app  # noqa: E402
import seed  # noqa: E402

# Fields each payload carries, one per line.
ORDER_FIELDS = [
    "id",
    "customer",
    "total",
    "status",
    "items",
    # factory:expect-field orders.v1
]
EVENT_FIELDS = [
    "type",
    "orderId",
    "customer",
    "total",
    # factory:expect-field order-events.v1
]

JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def schema(name):
    with open(os.path.join(ROOT, "contracts", name), encoding="utf-8") as f:
        return json.load(f)


def conforms(payload, schema):
    """Problems of `payload` against a JSON Schema subset: required, properties, type."""
    problems = []
    for name in schema.get("required", []):
        if name not in payload:
            problems.append(f"missing required field {name}")
    for name, prop in schema.get("properties", {}).items():
        if name in payload and "type" in prop:
            if not isinstance(payload[name], JSON_TYPES[prop["type"]]):
                problems.append(f"{name} is not {prop['type']}")
    return problems


class OrdersApiTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        data = os.path.join(self.tmp.name, "orders.json")
        with open(data, "w", encoding="utf-8") as f:
            json.dump(seed.ORDERS, f)
        self.events = os.path.join(self.tmp.name, "events")
        self.server = app.make_server(0, self.events, data)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        self.tmp.cleanup()

    def request(self, method, path, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())

    def test_health(self):
        status, _, body = self.request("GET", "/health")
        self.assertEqual((status, body), (200, {"status": "ok"}))

    def test_get_order_matches_contract(self):
        status, headers, body = self.request("GET", "/orders/1001")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Access-Control-Allow-Origin"), "*")
        self.assertEqual(body["customer"], "Ada Lovelace")
        for field in ORDER_FIELDS:
            self.assertIn(field, body)
        self.assertEqual(conforms(body, schema("orders.v1.json")), [])

    def test_unknown_order_is_404(self):
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            self.request("GET", "/orders/9")
        self.assertEqual(ctx.exception.code, 404)

    def test_post_order_emits_event(self):
        order = {"customer": "Alan Turing", "total": 7.25, "items": [{"sku": "TAPE-1", "qty": 3}]}
        status, _, body = self.request("POST", "/orders", order)
        self.assertEqual(status, 201)
        self.assertEqual(body["id"], 1003)
        self.assertEqual(conforms(body, schema("orders.v1.json")), [])
        with open(os.path.join(self.events, "orders.jsonl"), encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["orderId"], 1003)
        for field in EVENT_FIELDS:
            self.assertIn(field, events[0])
        self.assertEqual(conforms(events[0], schema("order-created.v1.json")), [])

    def test_missing_seed_data_is_a_clear_error(self):
        with self.assertRaises(app.SeedDataMissing) as ctx:
            app.load_orders(os.path.join(self.tmp.name, "nope.json"))
        self.assertIn("seed data missing", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
