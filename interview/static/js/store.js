/**
 * IndexedDB chunk store: every recorded chunk lands here before it is sent, so a dropped
 * connection, a reload or a crashed tab never loses an answer.
 *
 * Two object stores:
 *   takes  {takeId, uploadUrl, stateUrl, position, mimeType, finished, totalBytes, createdAt}
 *   chunks {takeId, seq, offset, size, data: ArrayBuffer}   key [takeId, seq]
 */

const DB_NAME = "interview-recorder";
const DB_VERSION = 1;

let opening = null;

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
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
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
      req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

/** Remember a take before its first chunk: which upload it belongs to. */
export async function putTake(meta) {
  const db = await open();
  const tx = db.transaction("takes", "readwrite");
  tx.objectStore("takes").put({ finished: false, totalBytes: null, createdAt: Date.now(), ...meta });
  await done(tx);
}

export async function updateTake(takeId, patch) {
  const db = await open();
  const tx = db.transaction("takes", "readwrite");
  const store = tx.objectStore("takes");
  const current = await request(store.get(takeId));
  if (current) store.put({ ...current, ...patch });
  await done(tx);
}

export async function getTake(takeId) {
  const db = await open();
  return request(db.transaction("takes").objectStore("takes").get(takeId));
}

export async function allTakes() {
  const db = await open();
  return request(db.transaction("takes").objectStore("takes").getAll());
}

/** Store one chunk (durable once the promise resolves). */
export async function putChunk(takeId, seq, offset, data) {
  const db = await open();
  const tx = db.transaction("chunks", "readwrite");
  tx.objectStore("chunks").put({ takeId, seq, offset, size: data.byteLength, data });
  await done(tx);
}

/** Every chunk of a take, in recording order. */
export async function chunks(takeId) {
  const db = await open();
  const range = IDBKeyRange.bound([takeId, 0], [takeId, Number.MAX_SAFE_INTEGER]);
  return request(db.transaction("chunks").objectStore("chunks").getAll(range));
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
  const db = await open();
  const tx = db.transaction(["takes", "chunks"], "readwrite");
  tx.objectStore("takes").delete(takeId);
  tx.objectStore("chunks").delete(IDBKeyRange.bound([takeId, 0], [takeId, Number.MAX_SAFE_INTEGER]));
  await done(tx);
}
