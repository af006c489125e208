"""Validates config/services.toml: unique ports, health paths, the sandbox env names."""

import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_NAME = re.compile(r"^(PORT|FACTORY_EVENTS_DIR|FACTORY_URL_[A-Z0-9_]+)$")


def parse(text):
    """The small TOML subset this file uses: [a.b] headers, ints, strings, string arrays."""
    tables, current = {}, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
        if header:
            current = tables.setdefault(header.group(1), {})
            continue
        pair = re.fullmatch(r"([A-Za-z0-9_-]+)\s*=\s*(.+)", line)
        if not pair or current is None:
            raise ValueError(f"line {number}: cannot parse {raw!r}")
        key, value = pair.groups()
        if re.fullmatch(r"-?\d+", value):
            current[key] = int(value)
        elif re.fullmatch(r'"[^"]*"', value):
            current[key] = value[1:-1]
        elif value.startswith("["):
            current[key] = re.findall(r'"([^"]*)"', value)
        else:
            raise ValueError(f"line {number}: unsupported value {value!r}")
    return tables


class ServicesConfigTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ROOT, "config", "services.toml"), encoding="utf-8") as f:
            self.tables = parse(f.read())
        self.services = {k.split(".", 1)[1]: v for k, v in self.tables.items() if k.startswith("services.")}

    def test_known_services(self):
        self.assertEqual(sorted(self.services), ["backend", "frontend", "worker"])

    def test_ports_are_unique_and_valid(self):
        ports = [s["port"] for s in self.services.values()]
        self.assertEqual(len(ports), len(set(ports)))
        for port in ports:
            self.assertTrue(1024 <= port <= 65535, port)

    def test_health_and_env(self):
        for name, service in self.services.items():
            self.assertTrue(service["health"].startswith("/"), name)
            self.assertIn("PORT", service["env"], name)
            for env in service["env"]:
                self.assertRegex(env, ENV_NAME)

    def test_parser_rejects_garbage(self):
        with self.assertRaises(ValueError):
            parse("[a]\nport = what\n")


if __name__ == "__main__":
    unittest.main()
