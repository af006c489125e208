"""Orders API: a small HTTP JSON service.

GET /health, GET /orders/<id>, POST /orders. Listens on $PORT. Creating an order appends one
order.created event to $FACTORY_EVENTS_DIR/orders.jsonl.

Lines marked `factory:` are edit points for automated changes; keep them.
"""

import json
import os
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.abspath(__file__))
DATA_FILE = os.path.join(ROOT, "data", "orders.json")


class SeedDataMissing(Exception):
    """The order data file does not exist: the seed step has not run."""


def now_iso():
    """The current UTC time as ISO-8601, e.g. 2026-01-01T12:00:00Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_orders(path=DATA_FILE):
    """Orders by id, from the data file."""
    if not os.path.exists(path):
        raise SeedDataMissing(
            f"seed data missing: {path} does not exist (run `python3 scripts/seed.py`)"
        )
    with open(path, encoding="utf-8") as f:
        orders = json.load(f)
    for order in orders:
        backfill(order)
    return {order["id"]: order for order in orders}


def backfill(order):
    """Give orders stored before a field existed a value for it."""
    # factory:backfill order
    return order


def order_view(order):
    """The orders.v1 payload of one order."""
    # factory:payload orders.v1
    return {
        "id": order["id"],
        "customer": order["customer"],
        "total": order["total"],
        "status": order["status"],
        "items": [{"sku": i["sku"], "qty": i["qty"]} for i in order["items"]],
        # factory:fields orders.v1 order
    }


def order_created_event(order):
    """The order-events.v1 message for a new order."""
    # factory:payload order-events.v1
    return {
        "type": "order.created",
        "orderId": order["id"],
        "customer": order["customer"],
        "total": order["total"],
        # factory:fields order-events.v1 order
    }


class Store:
    """Orders in memory, plus where events go."""

    def __init__(self, orders, events_dir):
        self.orders = orders
        self.events_dir = events_dir
        self.lock = threading.Lock()

    def create(self, body):
        """Create an order from a request body; returns the stored order."""
        items = body.get("items") or []
        with self.lock:
            order = {
                "id": max(self.orders, default=1000) + 1,
                "customer": str(body["customer"]),
                "total": float(body.get("total", 0)),
                "status": "new",
                "items": [{"sku": str(i["sku"]), "qty": int(i["qty"])} for i in items],
            }
            # factory:new-record order
            self.orders[order["id"]] = order
            self.emit(order_created_event(order))
        return order

    def emit(self, event):
        """Append one event line to the orders channel."""
        os.makedirs(self.events_dir, exist_ok=True)
        with open(os.path.join(self.events_dir, "orders.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


def make_handler(store):
    """A request handler class bound to `store`."""

    class Handler(BaseHTTPRequestHandler):
        def send_json(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self):
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.end_headers()

        def do_GET(self):
            if self.path == "/health":
                return self.send_json(200, {"status": "ok"})
            if self.path.startswith("/orders/"):
                try:
                    order = store.orders.get(int(self.path[len("/orders/"):]))
                except ValueError:
                    order = None
                if order is None:
                    return self.send_json(404, {"error": "no such order"})
                return self.send_json(200, order_view(order))
            return self.send_json(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/orders":
                return self.send_json(404, {"error": "not found"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                order = store.create(body)
            except (ValueError, KeyError, TypeError) as e:
                return self.send_json(400, {"error": f"bad order: {e}"})
            return self.send_json(201, order_view(order))

        def log_message(self, fmt, *args):
            sys.stderr.write("backend: " + (fmt % args) + "\n")

    return Handler


def make_server(port, events_dir, data_file=DATA_FILE):
    """A server on `port` (0 picks a free one)."""
    store = Store(load_orders(data_file), events_dir)
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(store))


def main():
    port = int(os.environ.get("PORT", "8080"))
    events_dir = os.environ.get("FACTORY_EVENTS_DIR", os.path.join(ROOT, "events"))
    try:
        server = make_server(port, events_dir)
    except SeedDataMissing as e:
        sys.stderr.write(f"backend: error: {e}\n")
        return 1
    print(f"backend listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
