/**
 * IndexedDB chunk store: every recorded chunk lands here before it is sent, so a dropped
 * connection, a reload or a crashed tab never loses an answer.
 *
 * Two object stores:
 *   takes  {takeId, uploadUrl, stateUrl, position, mimeType, finished, totalBytes, createdAt}
 *   chunks {takeId, seq, offset, size, data: ArrayBuffer}   key [takeId, seq]
 */

import { _ } from "./i18n.js";

const DB_NAME = "interview-recorder";
const DB_VERSION = 1;

let opening = null;

/**
 * When IndexedDB is unavailable or full, chunks are kept in memory instead, so the answer still
 * uploads (it just does not survive a reload). `onFallback` lets the page say so.
 */
const memory = { takes: new Map(), chunks: new Map() };
let fallbackListener = null;
export function onFallback(listener) {
  fallbackListener = listener;
}
function fellBack(error) {
  if (fallbackListener) fallbackListener(error);
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error(_("This browser could not store the answer on this device.")));
  });
}

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("takes")) {
          db.createObjectStore("takes", { keyPath: "takeId" });
        }
        if (!db.objectStoreNames.contains("chunks")) {
          db.createObjectStore("chunks", { keyPath: ["takeId", "seq"] });
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error(_("The interview is open in another tab: close it, then reload this page.")));
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

/** Remember a take before its first chunk: which upload it belongs to. */
export async function putTake(meta) {
  try {
    await idbPutTake(meta);
  } catch (error) {
    memory.takes.set(meta.takeId, { finished: false, totalBytes: null, createdAt: Date.now(), ...meta });
    fellBack(error);
  }
}

async function idbPutTake(meta) {
  const db = await open();
  const tx = db.transaction("takes", "readwrite");
  tx.objectStore("takes").put({ finished: false, totalBytes: null, createdAt: Date.now(), ...meta });
  await done(tx);
}

export async function updateTake(takeId, patch) {
  if (memory.takes.has(takeId)) {
    memory.takes.set(takeId, { ...memory.takes.get(takeId), ...patch });
    return;
  }
  try {
    const db = await open();
    const tx = db.transaction("takes", "readwrite");
    const store = tx.objectStore("takes");
    const current = await request(store.get(takeId));
    if (current) store.put({ ...current, ...patch });
    await done(tx);
  } catch (error) {
    fellBack(error);
  }
}

export async function getTake(takeId) {
  if (memory.takes.has(takeId)) return memory.takes.get(takeId);
  try {
    const db = await open();
    return await request(db.transaction("takes").objectStore("takes").get(takeId));
  } catch {
    return null;
  }
}

export async function allTakes() {
  try {
    const db = await open();
    return await request(db.transaction("takes").objectStore("takes").getAll());
  } catch (error) {
    fellBack(error);
    return [];
  }
}

/** Store one chunk (durable once the promise resolves). */
export async function putChunk(takeId, seq, offset, data) {
  const chunk = { takeId, seq, offset, size: data.byteLength, data };
  if (!memory.chunks.has(takeId)) {
    try {
      const db = await open();
      const tx = db.transaction("chunks", "readwrite");
      tx.objectStore("chunks").put(chunk);
      await done(tx);
      return;
    } catch (error) {
      memory.chunks.set(takeId, []);
      fellBack(error);
    }
  }
  memory.chunks.get(takeId).push(chunk);
}

/** Every chunk of a take, in recording order. */
export async function chunks(takeId) {
  let stored = [];
  try {
    const db = await open();
    const range = IDBKeyRange.bound([takeId, 0], [takeId, Number.MAX_SAFE_INTEGER]);
    stored = await request(db.transaction("chunks").objectStore("chunks").getAll(range));
  } catch (error) {
    if (!memory.chunks.has(takeId)) throw error;
  }
  return [...stored, ...(memory.chunks.get(takeId) || [])].sort((a, b) => a.seq - b.seq);
}

/** Bytes [from, to) of a take, read back from the chunks. */
export async function bytesBetween(takeId, from, to) {
  const out = new Uint8Array(Math.max(0, to - from));
  for (const chunk of await chunks(takeId)) {
    const end = chunk.offset + chunk.size;
    if (end <= from || chunk.offset >= to) continue;
    const start = Math.max(from, chunk.offset);
    const stop = Math.min(to, end);
    out.set(new Uint8Array(chunk.data, start - chunk.offset, stop - start), start - from);
  }
  return out;
}

/** Forget a take once the server confirmed every byte of it. */
export async function deleteTake(takeId) {
  const inMemory = memory.takes.has(takeId) || memory.chunks.has(takeId);
  memory.takes.delete(takeId);
  memory.chunks.delete(takeId);
  try {
    const db = await open();
    const tx = db.transaction(["takes", "chunks"], "readwrite");
    tx.objectStore("takes").delete(takeId);
    tx.objectStore("chunks").delete(IDBKeyRange.bound([takeId, 0], [takeId, Number.MAX_SAFE_INTEGER]));
    await done(tx);
  } catch (error) {
    if (!inMemory) throw error;
  }
}
