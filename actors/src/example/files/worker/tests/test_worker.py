"""Tests for the email worker, from a fixture event."""

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import worker  # noqa: E402

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "order-events.v1.json")

# Text the email for the fixture event must contain.
EXPECTED_TEXT = [
    "To: Ada Lovelace",
    "Subject: Your order 1001",
    "Total: 42.50",
    # factory:expect-text order-events.v1
]


def fixture():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def declared_reads(contract):
    """The `reads` list of a [[consumes]] entry in factory.toml (one-line arrays)."""
    with open(os.path.join(ROOT, "factory.toml"), encoding="utf-8") as f:
        text = f.read()
    for block in text.split("[[consumes]]")[1:]:
        if f'contract = "{contract}"' in block:
            match = re.search(r"^reads\s*=\s*\[(.*)\]", block, re.M)
            return re.findall(r'"([^"]+)"', match.group(1)) if match else []
    return []


class WorkerTest(unittest.TestCase):
    def test_renders_the_fixture_event(self):
        text = worker.render_email(fixture())
        for expected in EXPECTED_TEXT:
            self.assertIn(expected, text)

    def test_every_field_read_is_declared(self):
        with open(os.path.join(ROOT, "worker.py"), encoding="utf-8") as f:
            read = set(re.findall(r"event\['([^']+)'\]", f.read()))
        self.assertTrue(read)
        self.assertEqual(sorted(read - set(declared_reads("order-events.v1"))), [])

    def test_bad_event_is_reported_not_fatal(self):
        out, err = io.StringIO(), io.StringIO()
        self.assertFalse(worker.handle_line('{"type": "order.created"}', out, err))
        self.assertIn("missing field", err.getvalue())

    def test_once_mode_reads_a_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "orders.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write(json.dumps(fixture()) + "\n")
            out = subprocess.run(
                [sys.executable, os.path.join(ROOT, "worker.py"), "--once", path],
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout
        self.assertIn("Subject: Your order 1001", out)


if __name__ == "__main__":
    unittest.main()
