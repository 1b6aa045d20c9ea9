// CSV import page: while the import job runs, ask its status endpoint every second or two and
// move the progress bar; reload once it is finished, so the results by line are shown.
// Without JavaScript the page still works: reloading shows the same progress.

const container = document.getElementById("import-progress");
const url = container?.dataset.statusUrl;

let delay = 1000;

async function poll() {
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const state = await response.json();
      if (state.finished) {
        window.location.reload();
        return;
      }
      container.querySelector("[data-role=count]").textContent = state.rows_done;
      container.querySelector("[data-role=label]").textContent =
        state.status === "queued" ? "Waiting to start…" : "Inviting…";
      container.querySelector("progress").value = state.rows_done;
      delay = 1000;
    } else {
      delay = Math.min(delay * 2, 15000);
    }
  } catch {
    delay = Math.min(delay * 2, 15000); // offline for a moment: try again later
  }
  setTimeout(poll, delay);
}

if (url) setTimeout(poll, delay);
