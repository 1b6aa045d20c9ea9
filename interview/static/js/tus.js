/**
 * A minimal tus 1.0 client (core, creation with deferred length, termination) and the upload
 * loop that sends a take's chunks from IndexedDB, in order, from the offset the server holds.
 */

import { _ } from "./i18n.js";
import * as store from "./store.js";

const TUS = { "Tus-Resumable": "1.0.0" };
const MAX_PATCH_BYTES = 4 * 1024 * 1024;

/** The network failed (offline, connection dropped): worth retrying. */
export class NetworkError extends Error {}

/** The server answered with an error status; `message` is meant for the person. */
export class HttpError extends Error {
  constructor(status, message, body = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter; // ms the server asked us to wait (Retry-After), or null
  }
}

/** The longest wait a Retry-After can impose before the next try (the page stays usable). */
const RETRY_AFTER_MAX_MS = 60000;

/** Retry-After (RFC 9110: seconds or an HTTP date) in ms, or null when absent or unreadable. */
export function retryAfterOf(response) {
  const value = (response.headers.get("Retry-After") || "").trim();
  if (!value) return null;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS) : null;
}

/**
 * How long to wait before trying again: our own backoff, or longer if the server asked, plus up
 * to a fifth more at random so that clients refused together do not all come back together.
 */
export function retryDelay(error, backoffMs) {
  const asked = error instanceof HttpError ? error.retryAfter : null;
  if (asked === null || asked <= backoffMs) return backoffMs;
  return asked + Math.random() * Math.min(asked / 5, 5000);
}

/** Whether the server itself asked for this wait (so nothing on our side should cut it short). */
export function askedToWait(error) {
  return error instanceof HttpError && error.retryAfter !== null && error.retryAfter > 0;
}

async function send(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", cache: "no-store", ...options });
  } catch (error) {
    throw new NetworkError(error.message || _("network error"));
  }
  return response;
}

async function errorOf(response) {
  let body = null;
  let message = _("The server answered %(status)s.", { status: response.status });
  try {
    const text = await response.text();
    try {
      body = JSON.parse(text);
      if (body && body.error) message = body.error;
    } catch {
      if (text) message = text;
    }
  } catch {
    /* the body is optional */
  }
  return new HttpError(response.status, message, body, retryAfterOf(response));
}

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** tus creation with Upload-Defer-Length: starts the take on the server. */
export async function create(url, { filetype, audioOnly = false }) {
  const metadata = [`filetype ${b64(filetype)}`];
  if (audioOnly) metadata.push(`audio_only ${b64("1")}`);
  const response = await send(url, {
    method: "POST",
    headers: { ...TUS, "Upload-Defer-Length": "1", "Upload-Metadata": metadata.join(",") },
  });
  if (response.status !== 201) throw await errorOf(response);
  const body = await response.json();
  return { location: response.headers.get("Location"), take: body.take };
}

/** The bytes the server holds for this upload (and its length, once declared). */
export async function head(url) {
  const response = await send(url, { method: "HEAD", headers: TUS });
  if (!response.ok) {
    const message = _("The server answered %(status)s.", { status: response.status });
    throw new HttpError(response.status, message, null, retryAfterOf(response));
  }
  const length = response.headers.get("Upload-Length");
  return {
    offset: Number(response.headers.get("Upload-Offset")),
    length: length === null ? null : Number(length),
  };
}

/** Append `body` at `offset`; returns the new offset. */
export async function patch(url, offset, body, finalLength = null) {
  const headers = {
    ...TUS,
    "Content-Type": "application/offset+octet-stream",
    "Upload-Offset": String(offset),
  };
  if (finalLength !== null) headers["Upload-Length"] = String(finalLength);
  const response = await send(url, { method: "PATCH", headers, body });
  if (response.status === 204) return Number(response.headers.get("Upload-Offset"));
  const error = await errorOf(response);
  const serverOffset = response.headers.get("Upload-Offset");
  error.serverOffset = serverOffset === null ? null : Number(serverOffset);
  throw error;
}

/** tus termination: discard a recording in progress. */
export async function terminate(url) {
  const response = await send(url, { method: "DELETE", headers: TUS });
  if (response.status !== 204) throw await errorOf(response);
}

/** The upload cannot succeed as it is (the server's copy differs, or it refused the take). */
export class FatalUploadError extends Error {}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Sends one take: waits for chunks, PATCHes them in order, survives network failures (retry
 * with backoff, resume from the server's offset) and, once the server has it all, checks the
 * server's size and SHA-256 against the local bytes before deleting them from IndexedDB.
 *
 * Events (`onchange`): {phase: "uploading"|"offline"|"verifying"|"saved"|"failed", sent, total}
 */
export class Upload {
  constructor({ takeId, uploadUrl, stateUrl, localBytes = 0, finished = false, totalBytes = null }) {
    this.takeId = takeId;
    this.uploadUrl = uploadUrl;
    this.stateUrl = stateUrl;
    this.localBytes = localBytes; // bytes durable in IndexedDB
    this.finished = finished; // the recorder stopped: localBytes is the total
    this.totalBytes = totalBytes;
    this.serverOffset = null; // unknown until a HEAD or a PATCH answers
    this.phase = "uploading";
    this.listeners = new Set();
    this.wake = null;
    this.failures = 0;
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.onOnline = () => this.poke();
    window.addEventListener("online", this.onOnline);
  }

  onchange(listener) {
    this.listeners.add(listener);
    listener(this.snapshot());
    return () => this.listeners.delete(listener);
  }

  snapshot() {
    return {
      takeId: this.takeId,
      phase: this.phase,
      sent: this.serverOffset || 0,
      total: this.finished ? this.totalBytes : null,
      recorded: this.localBytes,
      error: this.error || null,
    };
  }

  set(phase, extra = {}) {
    this.phase = phase;
    Object.assign(this, extra);
    const snap = this.snapshot();
    for (const listener of this.listeners) listener(snap);
  }

  /** New bytes are in IndexedDB. */
  grew(localBytes) {
    this.localBytes = localBytes;
    this.poke();
  }

  /** The recorder stopped; `totalBytes` is everything it produced. */
  finish(totalBytes) {
    this.finished = true;
    this.totalBytes = totalBytes;
    this.localBytes = totalBytes;
    this.poke();
  }

  poke() {
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
  }

  idle(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Wait before the next try. Our own backoff ends early when there is news (a new chunk, the
   * network back); a wait the server asked for (Retry-After) is waited out in full.
   */
  async pause(error, backoffMs) {
    const ms = retryDelay(error, backoffMs);
    if (!askedToWait(error)) return this.idle(ms);
    const until = Date.now() + ms;
    while (Date.now() < until) await this.idle(until - Date.now());
  }

  start() {
    this.loop().then(
      (value) => {
        window.removeEventListener("online", this.onOnline);
        this.resolve(value);
      },
      (error) => {
        window.removeEventListener("online", this.onOnline);
        this.set("failed", { error: error.message });
        this.reject(error);
      },
    );
    return this.result;
  }

  async loop() {
    for (;;) {
      try {
        if (this.serverOffset === null) {
          const info = await head(this.uploadUrl);
          this.serverOffset = info.offset;
          if (info.length !== null && info.offset === info.length) return await this.verify();
        }
        const end = Math.min(this.localBytes, this.serverOffset + MAX_PATCH_BYTES);
        const last = this.finished && end === this.totalBytes;
        if (end > this.serverOffset || (last && this.phase !== "verifying")) {
          const body = await store.bytesBetween(this.takeId, this.serverOffset, end);
          this.serverOffset = await patch(this.uploadUrl, this.serverOffset, body, last ? this.totalBytes : null);
          this.failures = 0;
          this.set("uploading");
          if (last && this.serverOffset === this.totalBytes) return await this.verify();
          continue;
        }
        await this.idle(1000);
      } catch (error) {
        if (error instanceof FatalUploadError) throw error;
        if (error instanceof HttpError) {
          if (error.status === 409 && /closed/.test(error.message)) {
            // Already complete on the server (e.g. a PATCH answered while we were offline).
            return await this.verify();
          }
          if (error.status === 409) {
            this.serverOffset = error.serverOffset ?? null;
            continue;
          }
          if (error.status === 404 || error.status === 413 || error.status === 400) throw error;
        }
        // Network failure or a server hiccup: keep the bytes, back off, resume from HEAD.
        this.failures += 1;
        this.serverOffset = null;
        if (error instanceof NetworkError) this.set("offline");
        else this.set("retrying", { error: error.message });
        await this.pause(error, Math.min(500 * 2 ** (this.failures - 1), 8000));
      }
    }
  }

  /** The server has every byte: compare its size and checksum with ours, then forget ours. */
  async verify() {
    this.set("verifying");
    const meta = await store.getTake(this.takeId);
    const total = this.totalBytes ?? meta?.totalBytes;
    const local = await store.bytesBetween(this.takeId, 0, total);
    const localSha = await sha256Hex(local);
    for (let attempt = 0; ; attempt += 1) {
      let take = null;
      try {
        const response = await send(this.stateUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) throw await errorOf(response);
        const state = await response.json();
        take = state.questions.flatMap((q) => q.takes).find((t) => t.id === this.takeId) || null;
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        this.set("offline");
        await this.idle(Math.min(500 * 2 ** attempt, 8000));
        continue;
      }
      // Stored (even if processing later refuses it): its bytes are what we compare.
      if (take && take.status !== "recording" && take.checksum_sha256) {
        if (take.bytes_received !== total || take.checksum_sha256 !== localSha) {
          throw new FatalUploadError(_("the server's copy differs from the one on this device"));
        }
        await store.deleteTake(this.takeId);
        this.set("saved", { serverOffset: total });
        return { takeId: this.takeId, bytes: total, sha256: localSha, take };
      }
      if (take && take.status === "failed" && !take.checksum_sha256) {
        throw new FatalUploadError(take.failure_message || take.failure_reason || _("the server did not keep this recording"));
      }
      await this.idle(500);
    }
  }
}
