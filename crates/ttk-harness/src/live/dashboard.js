// The live page of a ttk run: every second, the page's <main> is replaced by the server's
// rendering of the report as it is now (/live), until the run is over. Served by the run
// itself; it loads nothing else.
"use strict";

(function () {
  const main = document.querySelector("main");
  const banner = document.createElement("p");
  banner.id = "ttk-live";
  banner.className = "live";
  banner.textContent = "Live: updated every second.";
  document.body.insertBefore(banner, main);

  let failures = 0;

  async function refresh() {
    try {
      const response = await fetch("/live", { cache: "no-store" });
      if (!response.ok) {
        throw new Error("the run answered " + response.status);
      }
      main.innerHTML = await response.text();
      failures = 0;
      if (document.getElementById("ttk-run-over")) {
        banner.textContent = "The run is over: this is its final report.";
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

  setTimeout(refresh, 1000);
})();
