/**
 * The candidate's interview page: device check, then each question in order (reveal, think
 * countdown, timed recording, review, retake or keep), with every chunk stored in IndexedDB
 * before a tus upload sends it. The server decides timing; this page only shows it.
 */

import * as store from "./store.js";
import * as tus from "./tus.js";
import { Recorder, TIMESLICE_MS, pickMimeType } from "./recorder.js";
import { DeviceCheck, acquire, savedSettings, stopStream } from "./devicecheck.js";
import { _, language, ngettext } from "./i18n.js";

const root = document.getElementById("interview");
const $ = (id) => document.getElementById(id);
const stateUrl = root.dataset.stateUrl;
const apiBase = stateUrl.replace(/state$/, "");
const checkedKey = `interview-device-checked:${stateUrl}`;
const USABLE = ["uploaded", "processing", "ready"];

/** A read-only window for tests and support: what the recorder produced, per take. */
const debug = { takes: {}, saved: {}, events: [] };
window.__interviewDebug = debug;
const log = (event, detail = {}) => debug.events.push({ event, at: Date.now(), ...detail });

// --- the server's clock ----------------------------------------------------------------------

const clock = {
  offset: 0,
  now() {
    return Date.now() + this.offset;
  },
  sync(serverTime, sentAt, receivedAt) {
    this.offset = serverTime * 1000 - (sentAt + receivedAt) / 2;
  },
};

// --- network status: one banner for every part of the page that cannot reach the server ---

const offlineSources = new Set();
const busySources = new Set();
/** A wait this long (ms) for a busy server is said on the page; shorter retries pass unseen. */
const BUSY_NOTICE_MS = 3000;

function setOffline(source, offline) {
  if (offline) offlineSources.add(source);
  else offlineSources.delete(source);
  showNetStatus();
}

/** A busy server asked this step to wait a while (Retry-After): say so, or stop saying it. */
function setBusy(source, busy) {
  if (busy) busySources.add(source);
  else busySources.delete(source);
  showNetStatus();
}

function showNetStatus() {
  const banner = $("net-status");
  let text = "";
  if (offlineSources.size) {
    text = _("You are offline: your answer is safe on this device and will upload when you are back online.");
  } else if (busySources.size) {
    text = _("The server is busy right now. Nothing is lost: this page tries again by itself.");
  }
  if (banner.textContent !== text) banner.textContent = text; // announced once, not per retry
  banner.hidden = !text;
}

// --- JSON API -------------------------------------------------------------------------------

// Answers can arrive out of order (a state read sent before a keep, answered after it): a state
// only replaces one from a request sent later than its own, never the other way round.
let stateSent = 0;
let stateApplied = 0;

async function api(url, method = "GET") {
  const sentAt = Date.now();
  const sent = ++stateSent;
  let response;
  try {
    response = await fetch(url, { method, headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (error) {
    throw new tus.NetworkError(error.message);
  }
  const body = await response.json().catch(() => null);
  if (body && body.server_time) clock.sync(body.server_time, sentAt, Date.now());
  const stateOf = (b) => (b && b.state) || (b && b.questions ? b : null);
  if (stateOf(body) && sent > stateApplied) {
    state = stateOf(body);
    stateApplied = sent;
  }
  if (!response.ok) {
    const message = (body && body.error) || _("The server answered %(status)s.", { status: response.status });
    throw new tus.HttpError(response.status, message, body, tus.retryAfterOf(response));
  }
  return body;
}

/** Answers that mean "nothing happened, try again shortly" (a busy or restarting server). */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * Call `fn` until it works, waiting out network failures (the banner says so meanwhile) and
 * busy servers (as the uploads do): a reveal or a recording start is never lost to a 503. A
 * busy server's Retry-After is honoured, but never past `deadline()` (the server's time, in ms,
 * after which trying again is useless: a recording start after the think time and its grace).
 */
async function persist(source, fn, { deadline = null } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await fn();
      setOffline(source, false);
      setBusy(source, false);
      return result;
    } catch (error) {
      const busy = error instanceof tus.HttpError && RETRYABLE_STATUS.has(error.status);
      if (!(error instanceof tus.NetworkError) && !busy) {
        setOffline(source, false);
        setBusy(source, false);
        throw error;
      }
      if (!busy) setOffline(source, true);
      let wait = tus.retryDelay(error, Math.min(500 * 2 ** attempt, 5000));
      const end = deadline ? deadline() : null;
      if (end !== null) wait = Math.max(250, Math.min(wait, end - clock.now() - 1000));
      if (busy && wait >= BUSY_NOTICE_MS) setBusy(source, true);
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          window.removeEventListener("online", done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        if (!busy) window.addEventListener("online", done); // back online: try at once
      });
    }
  }
}

/** When the server stops accepting the start of this question's recording (ms), or null. */
function startDeadline(q) {
  if (!q.think_ends_at) return null; // no think time: start whenever ready
  return (q.think_ends_at + state.grace_seconds) * 1000;
}

const refreshState = () => persist("state", () => api(stateUrl));

// --- page state -------------------------------------------------------------------------------

let state = null;
let stream = null;
let settings = savedSettings();
let phase = "loading"; // loading | device | before | think | recording | review | interrupted | finished
let ticker = null;
let cleanup = [];
const uploads = new Map(); // takeId → tus.Upload
const localUrls = new Map(); // takeId → blob: URL of what this page recorded
const resumed = new Map(); // takeId → seconds recorded before the page was reloaded or closed

function current() {
  if (!state || state.current_position === null) return null;
  return state.questions.find((q) => q.position === state.current_position) || null;
}

function showProblem(message) {
  const box = $("problem");
  box.textContent = message;
  box.hidden = !message;
  if (message) box.focus();
}

function fmtDuration(seconds) {
  seconds = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  if (!m) return ngettext("%(num)s second", "%(num)s seconds", s);
  return s
    ? _("%(minutes)s min %(seconds)s s", { minutes: m, seconds: s })
    : ngettext("%(num)s minute", "%(num)s minutes", m);
}

function fmtClock(seconds) {
  seconds = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function answerFor(q) {
  return _("You can answer for up to %(time)s.", { time: fmtDuration(q.answer_seconds) });
}

function resetView() {
  clearInterval(ticker);
  ticker = null;
  for (const undo of cleanup) undo();
  cleanup = [];
  for (const id of ["q-before", "q-prompt-box", "q-think", "q-recording", "q-review", "q-interrupted"]) {
    $(id).hidden = true;
  }
  $("q-prompt-video").pause();
}

/** Replace a button's listeners (each view binds its own). */
function onClick(id, handler) {
  const button = $(id);
  const fresh = button.cloneNode(true);
  fresh.disabled = false;
  button.replaceWith(fresh);
  fresh.addEventListener("click", handler);
  return fresh;
}

function header(q) {
  $("q-progress").textContent = q.is_practice
    ? _("Practice question")
    : _("Question %(number)s of %(total)s", { number: q.number, total: state.total_questions });
  const answered = state.questions.filter((p) => !p.is_practice && p.closed).length;
  $("q-progress-bar").style.width = `${(100 * answered) / Math.max(1, state.total_questions)}%`;
  const left = q.attempts_allowed - q.attempts_used;
  $("q-attempts").textContent = ngettext(
    "%(num)s attempt left of %(total)s",
    "%(num)s attempts left of %(total)s",
    left,
    { total: q.attempts_allowed },
  );
}

// --- the flow ---------------------------------------------------------------------------------

function render() {
  resetView();
  const q = current();
  if (!q) return finish();
  $("question").hidden = false;
  header(q);
  const recordingTake = q.takes.find((t) => t.status === "recording");
  if (recordingTake) {
    if (uploads.has(recordingTake.id)) return showReview(q, recordingTake.id);
    return showInterrupted(q, recordingTake);
  }
  if (q.open_reveal) return showThink(q);
  const usable = q.takes.filter((t) => USABLE.includes(t.status));
  if (usable.length) return showReview(q, usable[usable.length - 1].id);
  return showBefore(q);
}

function showBefore(q) {
  phase = "before";
  const left = q.attempts_allowed - q.attempts_used;
  $("q-before-lead").textContent = q.is_practice
    ? _("A practice question first: nobody will see this answer. Use it to get used to the timing.")
    : _("Take a breath: the question appears when you press the button.");
  const think = q.think_seconds
    ? _("When you show the question you get %(time)s to think; then recording starts by itself.", {
        time: fmtDuration(q.think_seconds),
      })
    : _("When you show the question you can read it and start recording when you are ready.");
  const attempts = ngettext(
    "Showing the question uses one of your attempts (%(num)s left), even if you leave the page or do not record.",
    "Showing the question uses one of your attempts (%(num)s left), even if you leave the page or do not record.",
    left,
  );
  $("q-before-notice").textContent = `${think} ${answerFor(q)} ${attempts}`;
  const last = q.takes[q.takes.length - 1];
  const lastNote = $("q-before-last");
  const reason = last && last.status === "failed" && last.failure_reason;
  lastNote.hidden = !reason || reason === "discarded by the candidate";
  lastNote.textContent = reason
    ? _("Your last attempt could not be used: %(reason)s.", { reason: last.failure_message || reason })
    : "";
  $("q-before").hidden = false;
  onClick("q-reveal", () => reveal(q));
}

async function reveal(q) {
  $("q-reveal").disabled = true;
  showProblem("");
  try {
    await persist("reveal", () => api(q.reveal_url, "POST"));
  } catch (error) {
    showProblem(error.message);
  }
  render();
  // Screen readers read the question itself; Tab reaches "Start recording" next.
  $(phase === "think" ? "q-prompt" : "q-progress").focus();
}

/** The recruiter's video of the question, shown while thinking; never playing while recording. */
function showPromptVideo(q, visible) {
  const video = $("q-prompt-video");
  if (!visible || !q.prompt_video_url) {
    video.pause();
    video.hidden = true;
    return;
  }
  if (video.getAttribute("src") !== q.prompt_video_url) {
    video.src = q.prompt_video_url;
    video.querySelector("track")?.remove();
    if (q.prompt_captions_url) {
      // Captions made on the server from the recruiter's video (shown by default).
      const track = document.createElement("track");
      track.kind = "captions";
      track.label = "Captions (automatic)";
      track.srclang = "und";
      track.src = q.prompt_captions_url;
      track.default = true;
      video.append(track);
    }
  }
  video.hidden = false;
}

function showThink(q) {
  phase = "think";
  $("q-prompt").textContent = q.prompt;
  $("q-prompt-box").hidden = false;
  showPromptVideo(q, true);
  $("q-think").hidden = false;
  const start = onClick("q-start", () => startRecording(q));
  start.disabled = false;
  if (!q.think_seconds || !q.think_ends_at) {
    $("q-think-label").textContent = _("Start when you are ready.");
    $("q-think-left").hidden = true;
    $("q-think-help").textContent = answerFor(q);
    start.textContent = _("Start recording");
    return;
  }
  $("q-think-label").textContent = _("Time to think");
  $("q-think-left").hidden = false;
  $("q-think-help").textContent = `${_("Recording starts by itself when the time is up.")} ${answerFor(q)}`;
  start.textContent = _("Start recording now");
  const endsAt = q.think_ends_at * 1000;
  let announced = null;
  const tick = () => {
    const left = (endsAt - clock.now()) / 1000;
    $("q-think-left").textContent = fmtClock(left);
    const mark = [30, 10, 5].find((s) => left <= s && left > s - 1);
    if (mark && announced !== mark) {
      announced = mark;
      $("q-announce").textContent = ngettext(
        "Recording starts in %(num)s second.",
        "Recording starts in %(num)s seconds.",
        mark,
      );
    }
    if (left <= 0) startRecording(q);
  };
  tick();
  ticker = setInterval(tick, 250);
}

let starting = false;

async function startRecording(q) {
  if (starting || phase !== "think") return;
  starting = true;
  clearInterval(ticker);
  ticker = null;
  $("q-start").disabled = true;
  showProblem("");
  try {
    const mimeType = pickMimeType(settings.audioOnly);
    if (!mimeType) throw new Error(_("This browser cannot record in a format we accept. Try another browser."));
    if (!stream || !stream.active) stream = await acquire(settings);
    const created = await persist(
      "create",
      () => tus.create(q.upload_create_url, { filetype: mimeType, audioOnly: Boolean(settings.audioOnly) }),
      { deadline: () => startDeadline(q) },
    );
    await record(q, created, mimeType);
  } catch (error) {
    log("start-refused", { message: error.message });
    showProblem(error.message);
    await refreshState().catch(() => {});
    render();
  } finally {
    starting = false;
  }
}

async function record(q, created, mimeType) {
  const takeId = created.take.id;
  const uploadUrl = created.location;
  await store.putTake({ takeId, uploadUrl, stateUrl, position: q.position, mimeType });
  // Keep the page's picture of the question in step without waiting for the server.
  q.takes.push(created.take);
  q.attempts_used += 1;
  q.open_reveal = false;
  const upload = track(new tus.Upload({ takeId, uploadUrl, stateUrl }));

  phase = "recording";
  resetView();
  header(q);
  $("q-prompt").textContent = q.prompt;
  $("q-prompt-box").hidden = false;
  showPromptVideo(q, false);
  $("q-recording").hidden = false;
  const preview = $("q-preview");
  const hasVideo = stream.getVideoTracks().length > 0;
  preview.hidden = !hasVideo;
  preview.srcObject = hasVideo ? stream : null;
  if (hasVideo) preview.play().catch(() => {});

  const parts = [];
  let offset = 0;
  let seq = 0;
  let writes = Promise.resolve();
  const recorder = new Recorder(stream, mimeType);
  const stopped = recorder.start((blob) => {
    parts.push(blob);
    writes = writes.then(async () => {
      const data = await blob.arrayBuffer();
      await store.putChunk(takeId, seq, offset, data);
      seq += 1;
      offset += data.byteLength;
      upload.grew(offset);
    });
  });
  const warn = (event) => {
    event.preventDefault();
    event.returnValue = "";
  };
  window.addEventListener("beforeunload", warn);
  log("recording", { takeId, mimeType });
  $("q-announce").textContent = _("Recording started.");

  const endsAt = clock.now() + q.answer_seconds * 1000;
  const stop = onClick("q-stop", () => recorder.stop());
  stop.disabled = false;
  stop.focus();
  let announced = null;
  const tick = () => {
    const left = (endsAt - clock.now()) / 1000;
    $("q-answer-left").textContent = _("%(time)s left", { time: fmtClock(left) });
    $("q-answer-bar").style.width = `${Math.max(0, (100 * left) / q.answer_seconds)}%`;
    const mark = [30, 10].find((s) => left <= s && left > s - 1);
    if (mark && announced !== mark) {
      announced = mark;
      $("q-announce").textContent = ngettext("%(num)s second left.", "%(num)s seconds left.", mark);
    }
    if (left <= 0) recorder.stop();
  };
  tick();
  ticker = setInterval(tick, 250);

  await stopped.catch((error) => showProblem(_("Recording stopped: %(reason)s", { reason: error.message })));
  clearInterval(ticker);
  ticker = null;
  await writes;
  await store.updateTake(takeId, { finished: true, totalBytes: offset });
  upload.finish(offset);
  window.removeEventListener("beforeunload", warn);

  const blob = new Blob(parts, { type: mimeType.split(";")[0] });
  localUrls.set(takeId, URL.createObjectURL(blob));
  const sha256 = await tus.sha256Hex(await blob.arrayBuffer());
  debug.takes[takeId] = { bytes: blob.size, sha256, chunks: parts.length, mimeType };
  log("recorded", { takeId, bytes: blob.size });
  $("q-announce").textContent = _("Recording stopped.");
  showReview(q, takeId);
  $("q-playback").focus();
}

/** Watch the take; keep or retake once it is saved. */
function showReview(q, takeId) {
  phase = "review";
  resetView();
  header(q);
  $("q-review").hidden = false;
  const take = q.takes.find((t) => t.id === takeId) || { id: takeId };
  // After a reload in the middle of an answer: the question again, and how much was kept.
  const cut = resumed.get(takeId);
  const resumedNote = $("q-resumed");
  resumedNote.hidden = cut === undefined;
  if (cut !== undefined) {
    $("q-prompt").textContent = q.prompt || "";
    $("q-prompt-box").hidden = !q.prompt;
    resumedNote.textContent = _(
      "The page was closed or reloaded while you were answering. The %(time)s you recorded before that are saved: watch them, then keep them as your answer or record a retake.",
      { time: fmtDuration(Math.max(1, cut)) },
    );
  }
  const playback = $("q-playback");
  playback.classList.toggle("media-audio", Boolean(settings.audioOnly));
  const source = localUrls.get(takeId) || take.media_url;
  if (source && playback.dataset.src !== source) {
    playback.src = source;
    playback.dataset.src = source;
  } else if (!source) {
    localPlayback(takeId, playback);
  }
  const left = q.attempts_allowed - q.attempts_used;
  const keep = onClick("q-keep", () => keepTake(q, takeId));
  const retake = onClick("q-retake", () => retakeQuestion(q));
  retake.hidden = left <= 0;
  retake.textContent = ngettext("Retake (%(num)s retake left)", "Retake (%(num)s retakes left)", left);
  const failed = $("q-failed");
  const incomplete = (take.flags || []).includes("incomplete");
  failed.hidden = !((take.status === "failed" && take.failure_reason) || incomplete);
  failed.textContent = take.failure_reason
    ? _("This recording cannot be used: %(reason)s.", { reason: take.failure_message || take.failure_reason })
    : incomplete
      ? _("This recording stops earlier than it should: part of it did not reach us. Watch it; if something is missing, retake it.")
      : "";
  const saveStatus = $("q-save");

  const apply = (snap) => {
    const saved = snap.phase === "saved";
    keep.disabled = !saved;
    // A take the server holds differently from this device can only be replaced by a retake.
    retake.disabled = !(saved || snap.phase === "failed");
    keep.setAttribute("aria-disabled", String(!saved));
    saveStatus.dataset.phase = snap.phase;
    saveStatus.textContent = describeSave(snap);
  };
  const upload = uploads.get(takeId);
  if (upload) {
    cleanup.push(upload.onchange(apply));
  } else {
    apply({ phase: "saved", sent: take.bytes_received, total: take.bytes_received });
  }
  showOthers(q, takeId);
}

function describeSave(snap) {
  switch (snap.phase) {
    case "saved":
      return _("Saved: the server has all %(size)s of this answer.", { size: formatBytes(snap.total ?? snap.sent) });
    case "offline":
      return _("Saving paused (offline). Your answer is safe on this device and will upload when you are back online.");
    case "retrying":
      return _("Saving… the server did not answer; trying again.");
    case "verifying":
      return _("Saving… checking the server's copy.");
    case "failed":
      return _("Not saved: %(reason)s. This device keeps its copy. Please record a retake, or contact the recruiter.", {
        reason: snap.error,
      });
    default: {
      if (snap.total) {
        const pct = Math.floor((100 * snap.sent) / Math.max(1, snap.total));
        if (pct >= 100) return _("Saving… everything is sent; waiting for the server to confirm.");
        const percent = new Intl.NumberFormat(language, { style: "percent" }).format(pct / 100);
        return _("Saving… %(percent)s sent.", { percent });
      }
      return _("Saving… %(size)s sent while recording.", { size: formatBytes(snap.sent) });
    }
  }
}

function formatBytes(n) {
  if (!n) return _("0 bytes");
  if (n < 1024 * 1024) return _("%(size)s KB", { size: Math.max(1, Math.round(n / 1024)) });
  const megabytes = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return _("%(size)s MB", { size: megabytes.format(n / 1048576) });
}

async function localPlayback(takeId, playback) {
  const meta = await store.getTake(takeId);
  if (!meta) return;
  const chunks = await store.chunks(takeId);
  const url = URL.createObjectURL(new Blob(chunks.map((c) => c.data), { type: meta.mimeType.split(";")[0] }));
  localUrls.set(takeId, url);
  playback.src = url;
  playback.dataset.src = url;
}

function showOthers(q, shownId) {
  const others = q.takes.filter((t) => t.id !== shownId && USABLE.includes(t.status));
  const list = $("q-others-list");
  list.replaceChildren();
  $("q-others").hidden = others.length === 0;
  for (const take of others) {
    const item = document.createElement("li");
    item.className = "d-flex flex-wrap align-items-center gap-2 mb-2";
    const label = document.createElement("span");
    label.textContent = _("Attempt %(number)s", { number: take.attempt });
    const watch = document.createElement("button");
    watch.type = "button";
    watch.className = "btn btn-sm btn-outline-secondary";
    watch.textContent = _("Watch");
    watch.addEventListener("click", () => {
      $("q-playback").src = take.media_url;
      $("q-playback").dataset.src = take.media_url;
      $("q-playback").focus();
    });
    const keep = document.createElement("button");
    keep.type = "button";
    keep.className = "btn btn-sm btn-outline-primary";
    keep.textContent = _("Keep attempt %(number)s instead", { number: take.attempt });
    keep.addEventListener("click", () => keepTake(q, take.id));
    item.append(label, watch, keep);
    list.append(item);
  }
}

async function keepTake(q, takeId) {
  $("q-keep").disabled = true;
  showProblem("");
  try {
    await persist("keep", () => api(`${apiBase}takes/${takeId}/keep`, "POST"));
    log("kept", { takeId });
  } catch (error) {
    showProblem(error.message);
  }
  render();
  $("q-progress").focus();
}

async function retakeQuestion(q) {
  $("q-retake").disabled = true;
  await reveal(q);
}

function showInterrupted(q, take) {
  phase = "interrupted";
  $("q-interrupted").hidden = false;
  const held = take.bytes_received || 0;
  $("q-interrupted-held").textContent = held
    ? _("The server holds the first %(size)s of it: you can use that part as your answer (then watch it, keep it or retake), or discard it.", {
        size: formatBytes(held),
      })
    : _("Nothing of it reached the server: discard it to try again.");
  const salvage = onClick("q-salvage", async () => {
    salvage.disabled = true;
    showProblem("");
    try {
      // Declare the length the server already holds: tus then completes the upload as is.
      const { offset } = await persist("salvage", () => tus.head(take.upload_url));
      await persist("salvage", () => tus.patch(take.upload_url, offset, new Uint8Array(0), offset));
      log("salvaged", { takeId: take.id, bytes: offset });
    } catch (error) {
      showProblem(error.message);
    }
    await refreshState();
    render();
  });
  salvage.hidden = held === 0;
  onClick("q-discard", async () => {
    try {
      await persist("discard", () => tus.terminate(take.upload_url));
    } catch (error) {
      showProblem(error.message);
    }
    await refreshState();
    render();
  });
}

async function finish() {
  phase = "finished";
  $("question").hidden = true;
  $("finished").hidden = false;
  const pending = [...uploads.values()].map((u) => u.result.catch(() => null));
  await Promise.all(pending);
  $("finished-status").textContent = _("Every answer is saved. Taking you to the review page…");
  window.location.assign(state.review_url);
}

// --- uploads ------------------------------------------------------------------------------------

function track(upload) {
  uploads.set(upload.takeId, upload);
  upload.onchange((snap) => {
    setOffline(`upload-${upload.takeId}`, snap.phase === "offline");
    debug.uploads = Object.fromEntries([...uploads].map(([id, u]) => [id, u.snapshot()]));
  });
  upload.start().then(
    async (result) => {
      debug.saved[upload.takeId] = { bytes: result.bytes, sha256: result.sha256 };
      log("saved", { takeId: upload.takeId });
      uploads.delete(upload.takeId);
      await refreshState();
      if (phase === "review" || phase === "before" || phase === "interrupted") render();
      log("refreshed", { takeId: upload.takeId });
    },
    (error) => log("upload-failed", { takeId: upload.takeId, message: error.message }),
  );
  return upload;
}

/** After a reload or a crash: send what this device still holds, from the server's offset. */
async function resumeStoredTakes() {
  for (const meta of await store.allTakes()) {
    if (meta.stateUrl !== stateUrl || uploads.has(meta.takeId)) continue;
    const chunks = await store.chunks(meta.takeId);
    const local = chunks.reduce((end, c) => Math.max(end, c.offset + c.size), 0);
    if (local === 0) {
      // The page closed before the recorder produced anything: nothing to save.
      await tus.terminate(meta.uploadUrl).catch(() => {});
      await store.deleteTake(meta.takeId);
      continue;
    }
    // The recorder stores about one chunk a second: that many seconds were recorded.
    if (!meta.finished) resumed.set(meta.takeId, chunks.length * (TIMESLICE_MS / 1000));
    if (!meta.finished) await store.updateTake(meta.takeId, { finished: true, totalBytes: local });
    log("resume", { takeId: meta.takeId, bytes: local });
    track(
      new tus.Upload({
        takeId: meta.takeId,
        uploadUrl: meta.uploadUrl,
        stateUrl,
        localBytes: local,
        finished: true,
        totalBytes: local,
      }),
    );
  }
}

// --- start ---------------------------------------------------------------------------------------

async function deviceReady() {
  if (sessionStorage.getItem(checkedKey)) {
    try {
      stream = await acquire(settings);
      return;
    } catch {
      /* fall through to the full check */
    }
  }
  phase = "device";
  const check = new DeviceCheck($("devicecheck"), { audioOnlyAllowed: Boolean(state.audio_only_allowed) });
  const q = current();
  $("dc-continue").textContent =
    q && q.is_practice ? _("Continue to the practice question") : _("Continue to the questions");
  const result = await check.run();
  stream = result.stream;
  settings = result.settings;
  sessionStorage.setItem(checkedKey, "1");
}

store.onFallback(() => {
  const banner = $("store-warning");
  banner.hidden = false;
});

async function main() {
  // Ask the browser not to evict stored answers under storage pressure (best effort).
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  try {
    await refreshState();
    await resumeStoredTakes();
  } catch (error) {
    $("loading").hidden = true;
    showProblem(error.message);
    return;
  }
  $("loading").hidden = true;
  if (current()) await deviceReady();
  render();
  if (phase !== "finished") $("q-progress").focus();
}

window.addEventListener("pagehide", () => stopStream(stream));
main();
