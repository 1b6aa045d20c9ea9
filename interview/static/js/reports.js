// Reports page: while a report is queued or rendering, ask the status endpoint every couple of
// seconds and update its row in place (status, time, download button), so nobody has to reload.
// Without JavaScript the page still works: reloading shows the same states.

const container = document.getElementById("reports");
const url = container?.dataset.statusUrl;
const note = document.getElementById("poll-note");
const BUSY = new Set(["queued", "rendering"]);
const COLOURS = { queued: "secondary", rendering: "info", ready: "success", failed: "danger" };

let delay = 2000;

function rowsBusy() {
  return [...document.querySelectorAll("[data-report]")].some((row) =>
    BUSY.has(row.dataset.status),
  );
}

function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

function update(report) {
  const row = document.querySelector(`[data-report="${report.id}"]`);
  if (!row) return false;
  const before = row.dataset.status;
  row.dataset.status = report.status;
  const badge = row.querySelector("[data-role=status]");
  badge.textContent = report.status;
  badge.className = `badge report-status text-bg-${COLOURS[report.status] || "secondary"}`;
  row.querySelector("[data-role=stale]").hidden = !report.stale;
  const error = row.querySelector("[data-role=error]");
  error.textContent = report.error || "";
  error.hidden = !(report.status === "failed" && report.error);
  const finished = row.querySelector("[data-role=finished]");
  if (report.status === "ready") {
    const size = report.size_bytes ? ` · ${Math.round(report.size_bytes / 1024)} KB` : "";
    finished.textContent = formatTime(report.finished_at) + size;
  } else {
    finished.textContent = "";
  }
  const download = row.querySelector("[data-role=download]");
  if (report.download_url) download.href = report.download_url;
  download.hidden = report.status !== "ready";
  const regenerate = row.querySelector("[data-role=regenerate]");
  regenerate.hidden = BUSY.has(report.status) || !(report.stale || report.status === "failed");
  return before !== report.status;
}

function say(text) {
  if (!note) return;
  note.textContent = text;
  note.hidden = !text;
}

async function poll() {
  let busy = true;
  try {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const payload = await response.json();
    for (const report of payload.reports) {
      if (update(report) && report.status === "ready") say("A report is ready.");
    }
    busy = payload.busy;
    delay = 2000;
  } catch {
    delay = Math.min(delay * 2, 30000); // the server is away: ask less often
  }
  if (busy) setTimeout(poll, delay);
}

if (url && rowsBusy()) setTimeout(poll, delay);
