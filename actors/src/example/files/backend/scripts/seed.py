"""Write the seed orders to data/orders.json (a fresh checkout needs this before starting)."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ORDERS = [
    {
        "id": 1001,
        "customer": "Ada Lovelace",
        "total": 42.5,
        "status": "shipped",
        "items": [{"sku": "BOOK-1", "qty": 1}, {"sku": "PEN-3", "qty": 2}],
    },
    {
        "id": 1002,
        "customer": "Grace Hopper",
        "total": 12.0,
        "status": "new",
        "items": [{"sku": "MUG-7", "qty": 1}],
    },
]


def main():
    path = os.path.join(ROOT, "data", "orders.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ORDERS, f, indent=2)
        f.write("\n")
    print(f"seeded {len(ORDERS)} orders into {path}")


if __name__ == "__main__":
    main()
