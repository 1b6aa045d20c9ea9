// Reviewer's page: playback speed and shortcuts, comments tied to moments, scores that save as
// they are given. Every change is sent at once; anything not yet acknowledged is retried, and
// sent with navigator.sendBeacon if the tab closes first, so closing the tab loses nothing.

const form = document.getElementById("review-form");
const statusEl = document.getElementById("save-status");
const editable = form?.dataset.editable === "true";
const csrf = form?.querySelector("input[name=csrf_token]")?.value;
const answers = [...document.querySelectorAll(".answer")];
let current = answers[0] || null;

// --- saving -------------------------------------------------------------------------------

const pending = new Map(); // key -> {url, fields}
let retryDelay = 1000;

function say(text, tone = "muted") {
  if (!statusEl) return;
  statusEl.textContent = text;
  statusEl.className = `small text-${tone}`;
}

function queueSave(key, url, fields) {
  pending.set(key, { url, fields });
  say("Saving…");
  flush();
}

function body(fields) {
  const data = new FormData();
  data.append("csrf_token", csrf);
  for (const [name, value] of Object.entries(fields)) data.append(name, value ?? "");
  return data;
}

async function post(url, fields) {
  const response = await fetch(url, {
    method: "POST",
    body: body(fields),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  return { response, payload };
}

// One drain at a time; everyone who asks to flush waits for the same one (a submit clicked
// while a save is in flight waits for it instead of seeing a false "not saved").
let draining = null;

function flush() {
  if (!draining) draining = drain().finally(() => (draining = null));
  return draining;
}

function retryLater(message) {
  say(message, "danger");
  setTimeout(flush, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30000);
}

async function drain() {
  while (pending.size) {
    const [key, item] = pending.entries().next().value;
    let result;
    try {
      result = await post(item.url, item.fields);
    } catch {
      retryLater("Not saved yet: offline. Retrying…");
      return;
    }
    const { response, payload } = result;
    if (pending.get(key) === item) pending.delete(key);
    if (response.ok && payload?.ok) {
      retryDelay = 1000;
      showMine(payload);
    } else if (response.status >= 500 || response.status === 429) {
      // Keep a newer value given meanwhile; otherwise try this one again.
      if (!pending.has(key)) pending.set(key, item);
      retryLater("Not saved yet: the server is busy. Retrying…");
      return;
    } else {
      say(payload?.error || `Not saved (${response.status}). Reload the page.`, "danger");
      return;
    }
  }
  say("All changes saved", "success");
}

function showMine(payload) {
  const mine = document.getElementById("my-score");
  if (mine) mine.textContent = payload.my_score == null ? "—" : payload.my_score.toFixed(2);
}

window.addEventListener("beforeunload", (event) => {
  if (noteTimer) {
    // A note still being typed (the autosave waits for a pause): send it too.
    clearTimeout(noteTimer);
    noteTimer = null;
    pending.set("overall", { url: form.dataset.overallUrl, fields: overallFields() });
  }
  if (!pending.size) return;
  for (const item of pending.values()) {
    navigator.sendBeacon(item.url, body(item.fields));
  }
  event.preventDefault();
});

// --- scores -------------------------------------------------------------------------------

function weightedFor(answer) {
  let total = 0;
  let weights = 0;
  for (const set of answer.querySelectorAll(".criterion")) {
    const checked = set.querySelector("input:checked");
    if (!checked) continue;
    const weight = Number(set.dataset.weight || 1);
    total += weight * Number(checked.value);
    weights += weight;
  }
  return weights ? (total / weights).toFixed(2) : "—";
}

function hint(set, input) {
  const target = set.querySelector(".level-hint");
  if (!target) return;
  const text = input?.dataset.levelText;
  target.textContent = input && text ? `${input.value}: ${text}` : "";
}

for (const set of document.querySelectorAll(".criterion")) {
  const answer = set.closest(".answer");
  for (const input of set.querySelectorAll("input[type=radio]")) {
    input.addEventListener("change", () => {
      hint(set, input);
      const shown = answer.querySelector(".answer-score");
      if (shown) shown.textContent = weightedFor(answer);
      if (!editable) return;
      queueSave(`score-${set.dataset.responseId}-${set.dataset.criterionId}`, form.dataset.scoreUrl, {
        response_id: set.dataset.responseId,
        criterion_id: set.dataset.criterionId,
        value: input.value,
      });
    });
    const label = set.querySelector(`label[for="${input.id}"]`);
    for (const el of [input, label]) {
      el?.addEventListener("mouseenter", () => hint(set, input));
      el?.addEventListener("focus", () => hint(set, input));
    }
    label?.addEventListener("mouseleave", () => hint(set, set.querySelector("input:checked")));
  }
}

// --- recommendation and note ---------------------------------------------------------------

const note = document.getElementById("note");
function overallFields() {
  const chosen = document.querySelector("input[name=recommendation]:checked");
  return { recommendation: chosen ? chosen.value : "", note: note ? note.value : "" };
}
for (const input of document.querySelectorAll("input[name=recommendation]")) {
  input.addEventListener("change", () => {
    if (editable) queueSave("overall", form.dataset.overallUrl, overallFields());
  });
}
let noteTimer = null;
note?.addEventListener("input", () => {
  clearTimeout(noteTimer);
  say("Editing…");
  noteTimer = setTimeout(() => queueSave("overall", form.dataset.overallUrl, overallFields()), 800);
});
note?.addEventListener("blur", () => {
  if (noteTimer) {
    clearTimeout(noteTimer);
    noteTimer = null;
    queueSave("overall", form.dataset.overallUrl, overallFields());
  }
});

// Submitting sends the whole form; first let pending autosaves land.
form?.addEventListener("submit", async (event) => {
  if (!pending.size && !noteTimer) return;
  event.preventDefault();
  if (noteTimer) {
    clearTimeout(noteTimer);
    noteTimer = null;
    pending.set("overall", { url: form.dataset.overallUrl, fields: overallFields() });
  }
  await flush();
  if (pending.size) {
    say("Not submitted: some changes are not saved yet (offline?). Try again in a moment.", "danger");
    return;
  }
  form.requestSubmit(event.submitter);
});

// --- playback -----------------------------------------------------------------------------

// The answer's player: a <video>, or an <audio> in audio-only review; none in transcript-only.
function videoOf(answer) {
  return answer?.querySelector(".answer-media") || null;
}

// The moment a comment is tied to: the player's time, or (transcript only) the phrase chosen.
const chosenMs = new Map();
function momentOf(answer) {
  const video = videoOf(answer);
  if (video) return video.currentTime > 0 ? Math.round(video.currentTime * 1000) : null;
  return chosenMs.has(answer) ? chosenMs.get(answer) : null;
}

function setSpeed(answer, speed) {
  const video = videoOf(answer);
  if (!video) return;
  video.playbackRate = speed;
  for (const button of answer.querySelectorAll("[data-speed]")) {
    const on = Number(button.dataset.speed) === speed;
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
}

function timestamp(ms) {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function seek(answer, ms, play = true) {
  const video = videoOf(answer);
  current = answer;
  if (!video) {
    chosenMs.set(answer, ms);
    highlight(answer, ms);
    showMoment(answer);
    return;
  }
  video.currentTime = ms / 1000;
  if (play) video.play().catch(() => {});
}

// --- transcript: the current phrase follows playback; a phrase seeks; captions toggle --------

function linesOf(answer) {
  return [...answer.querySelectorAll(".transcript-line")];
}

function highlight(answer, ms) {
  let active = null;
  for (const line of linesOf(answer)) {
    const on = ms >= Number(line.dataset.startMs) && ms < Number(line.dataset.endMs);
    line.classList.toggle("active", on);
    if (on) {
      line.setAttribute("aria-current", "true");
      active = line;
    } else line.removeAttribute("aria-current");
  }
  const box = answer.querySelector(".transcript");
  if (active && box) {
    // Scroll the transcript box only (never the page under the reviewer).
    const top = active.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - active.offsetHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }
  return active;
}

function activeLine(answer) {
  return answer.querySelector(".transcript-line.active");
}

function showMoment(answer) {
  const moment = answer.querySelector(".comment-moment");
  if (!moment) return;
  const ms = momentOf(answer);
  moment.textContent = ms ? `at ${timestamp(ms)}` : "";
}

function quote(answer) {
  const text = answer.querySelector(".comment-form textarea");
  if (!text) return;
  const selection = window.getSelection();
  const box = answer.querySelector(".transcript");
  let phrase = "";
  let at = null;
  if (selection && !selection.isCollapsed && box?.contains(selection.anchorNode)) {
    phrase = selection.toString().trim();
    at = selection.anchorNode.parentElement?.closest(".transcript-line")?.dataset.startMs;
  }
  if (!phrase) {
    const line = activeLine(answer) || linesOf(answer)[0];
    if (!line) return;
    phrase = line.lastChild.textContent.trim();
    at = line.dataset.startMs;
  }
  if (at != null) {
    if (videoOf(answer)) {
      if (!activeLine(answer)) seek(answer, Number(at), false);
    } else chosenMs.set(answer, Number(at));
    showMoment(answer);
  }
  const quoted = `“${phrase.replace(/\s+/g, " ")}” `;
  text.value = text.value ? `${text.value.trimEnd()} ${quoted}` : quoted;
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
}

for (const answer of answers) {
  const video = videoOf(answer);
  answer.querySelector(".transcript")?.addEventListener("click", (event) => {
    const line = event.target.closest(".transcript-line");
    if (!line || !window.getSelection()?.isCollapsed) return;
    seek(answer, Number(line.dataset.startMs));
  });
  answer.querySelector(".quote-phrase")?.addEventListener("click", () => quote(answer));
  if (video) {
    const follow = () => highlight(answer, video.currentTime * 1000);
    video.addEventListener("timeupdate", follow);
    video.addEventListener("seeked", follow);
  }
  const toggle = answer.querySelector(".captions-toggle");
  if (toggle && video) {
    toggle.addEventListener("click", () => {
      const on = toggle.getAttribute("aria-pressed") !== "true";
      for (const track of video.textTracks) track.mode = on ? "showing" : "hidden";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      toggle.classList.toggle("active", on);
    });
    toggle.classList.add("active");
  }
}

// A search result links here with ?answer=<response id>&t=<ms>: go to that moment.
{
  const params = new URLSearchParams(window.location.search);
  const target = answers.find((a) => a.dataset.responseId === params.get("answer"));
  const at = Number(params.get("t"));
  if (target && Number.isFinite(at)) {
    current = target;
    const video = videoOf(target);
    if (video && video.readyState < 1) {
      video.addEventListener("loadedmetadata", () => seek(target, at, false), { once: true });
    } else seek(target, at, false);
    target.scrollIntoView({ block: "start" });
  }
}

for (const answer of answers) {
  const video = videoOf(answer);
  answer.addEventListener("focusin", () => (current = answer));
  answer.addEventListener("pointerdown", () => (current = answer));
  for (const button of answer.querySelectorAll("[data-speed]")) {
    button.addEventListener("click", () => setSpeed(answer, Number(button.dataset.speed)));
  }
  answer.querySelector(".comments")?.addEventListener("click", (event) => {
    const button = event.target.closest(".comment-seek");
    if (button) seek(answer, Number(button.dataset.atMs));
  });
  const commentForm = answer.querySelector(".comment-form");
  if (video && commentForm) {
    video.addEventListener("timeupdate", () => showMoment(answer));
    video.addEventListener("seeked", () => showMoment(answer));
  }
  commentForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = commentForm.querySelector("textarea");
    if (!text.value.trim()) return;
    const atMs = momentOf(answer) ?? "";
    say("Saving…");
    let result;
    try {
      result = await post(form.dataset.commentUrl, {
        response_id: answer.dataset.responseId,
        at_ms: atMs,
        body: text.value,
      });
    } catch {
      say("Comment not saved: offline. Try again.", "danger");
      return;
    }
    if (!result.response.ok || !result.payload?.ok) {
      say(result.payload?.error || "Comment not saved.", "danger");
      return;
    }
    addComment(answer, result.payload.comment);
    text.value = "";
    say("All changes saved", "success");
  });
}

function addComment(answer, comment) {
  const list = answer.querySelector(".comments");
  list.querySelector(".no-comments")?.remove();
  const item = document.createElement("li");
  item.className = "comment mb-1";
  item.dataset.commentId = comment.id;
  if (comment.at_ms !== null) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-link btn-sm p-0 align-baseline comment-seek";
    button.dataset.atMs = comment.at_ms;
    button.textContent = timestamp(comment.at_ms);
    button.setAttribute("aria-label", `Play from ${timestamp(comment.at_ms)}`);
    item.append(button, " ");
  }
  const text = document.createElement("span");
  text.className = "pre-wrap";
  text.textContent = comment.body;
  const who = document.createElement("span");
  who.className = "text-muted small";
  who.textContent = " — you";
  item.append(text, who);
  list.append(item);
}

// --- keyboard -----------------------------------------------------------------------------

const SPEEDS = [1, 1.25, 1.5, 2];

function typing(target) {
  return target.closest("textarea, input[type=text], input[type=search], select, [contenteditable]");
}

function goTo(offset) {
  if (!answers.length) return;
  const index = Math.max(0, Math.min(answers.length - 1, answers.indexOf(current) + offset));
  videoOf(current)?.pause();
  current = answers[index];
  current.scrollIntoView({ block: "start" });
  (videoOf(current) || current.querySelector("input, button"))?.focus({ preventScroll: true });
}

function scoreWithKey(target, value) {
  let set = target.closest(".criterion");
  if (!set && current) {
    set = [...current.querySelectorAll(".criterion")].find((s) => !s.querySelector("input:checked"));
  }
  if (!set || set.disabled) return false;
  const input = set.querySelector(`input[value="${value}"]`);
  if (!input) return false;
  input.checked = true;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  // Move on to the next criterion of this answer, so 4, 3, 5 scores three criteria in a row.
  const sets = [...set.closest(".answer").querySelectorAll(".criterion")];
  const following = sets[sets.indexOf(set) + 1];
  const nextFocus = following
    ? following.querySelector("input:checked") || following.querySelector("input")
    : input;
  nextFocus.focus();
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const video = videoOf(current);
  let handled = true;
  switch (event.key) {
    case "k":
      if (video) video.paused ? video.play().catch(() => {}) : video.pause();
      break;
    case "j":
      if (video) video.currentTime = Math.max(0, video.currentTime - 5);
      break;
    case "l":
      if (video) video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 5);
      break;
    case ">":
    case "<": {
      if (!video) break;
      const at = SPEEDS.indexOf(video.playbackRate);
      const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (at < 0 ? 0 : at) + (event.key === ">" ? 1 : -1)))];
      setSpeed(current, next);
      break;
    }
    case "n":
      goTo(1);
      break;
    case "p":
      goTo(-1);
      break;
    case "c":
      current?.querySelector(".comment-form textarea")?.focus();
      break;
    case "1":
    case "2":
    case "3":
    case "4":
    case "5":
      handled = editable && scoreWithKey(event.target, event.key);
      break;
    default:
      handled = false;
  }
  if (handled) event.preventDefault();
});

document.body.dataset.reviewReady = "true";
