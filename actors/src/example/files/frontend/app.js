// Orders dashboard: fetches one order from the orders API and shows it as a table.
// Lines marked `factory:` are edit points for automated changes; keep them.

// Fields of orders.v1 this page reads, with their labels.
const FIELDS = [
  ["id", "Order"],
  ["customer", "Customer"],
  ["total", "Total"],
  ["status", "Status"],
  // factory:reads orders.v1
];

function render(order) {
  const body = document.querySelector("#order tbody");
  body.innerHTML = "";
  for (const [key, label] of FIELDS) {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    const td = document.createElement("td");
    const value = order[key];
    td.textContent = value === undefined ? "(missing)" : String(value);
    row.append(th, td);
    body.append(row);
  }
}

async function main() {
  const status = document.getElementById("status");
  try {
    const response = await fetch(`${window.API_URL}/orders/1001`);
    if (!response.ok) {
      throw new Error(`orders API answered ${response.status}`);
    }
    render(await response.json());
    status.textContent = "Loaded.";
  } catch (error) {
    status.textContent = `Could not load the order: ${error.message}`;
    status.className = "error";
  }
}

main();
