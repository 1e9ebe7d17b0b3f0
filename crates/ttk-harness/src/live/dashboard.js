// The live page of a ttk run: every second, the page's <main> is replaced by the server's
// rendering of the report as it is now (/live), until the run is over; and, when the run can be
// changed as it goes (/status says what), a form that sets its bots or its rate (POST /control).
// Served by the run itself; it loads nothing else.
"use strict";

(function () {
  const main = document.querySelector("main");
  const banner = document.createElement("p");
  banner.id = "ttk-live";
  banner.className = "live";
  banner.textContent = "Live: updated every second.";
  document.body.insertBefore(banner, main);

  let failures = 0;
  let over = false;

  async function refresh() {
    try {
      const response = await fetch("/live", { cache: "no-store" });
      if (!response.ok) {
        throw new Error("the run answered " + response.status);
      }
      main.innerHTML = await response.text();
      failures = 0;
      if (document.getElementById("ttk-run-over")) {
        over = true;
        banner.textContent = "The run is over: this is its final report.";
        const form = document.getElementById("ttk-control");
        if (form) {
          form.remove();
        }
        return;
      }
      banner.textContent = "Live: updated " + new Date().toLocaleTimeString() + ".";
    } catch (error) {
      failures += 1;
      banner.textContent = "Not updated: " + error.message;
      if (failures > 30) {
        banner.textContent = "The run no longer answers: the page shows its last figures.";
        return;
      }
    }
    setTimeout(refresh, 1000);
  }

  // The form to change the run: its bots (closed model) or its rate (open model).
  function controlForm(what) {
    const form = document.createElement("form");
    form.id = "ttk-control";
    form.className = "control";
    const label = document.createElement("label");
    label.textContent = what === "bots" ? "Bots" : "Rate (sessions per second)";
    const input = document.createElement("input");
    input.id = "ttk-control-value";
    input.type = "number";
    input.min = what === "bots" ? "0" : "0.001";
    input.step = what === "bots" ? "1" : "any";
    input.required = true;
    label.appendChild(input);
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Change";
    const said = document.createElement("span");
    said.id = "ttk-control-said";
    form.append(label, button, said);
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const asked = {};
      asked[what] = Number(input.value);
      said.textContent = "…";
      try {
        const response = await fetch("/control", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(asked),
        });
        said.textContent = response.ok
          ? "Changed to " + input.value + "."
          : "Not changed: " + (await response.text());
      } catch (error) {
        said.textContent = "Not changed: " + error.message;
      }
    });
    return form;
  }

  async function offerControl() {
    try {
      const response = await fetch("/status", { cache: "no-store" });
      const status = await response.json();
      if (status.control && !over) {
        document.body.insertBefore(controlForm(status.control), main);
      }
    } catch (error) {
      // No control offered: the page still shows the run.
    }
  }

  offerControl();
  setTimeout(refresh, 1000);
})();
