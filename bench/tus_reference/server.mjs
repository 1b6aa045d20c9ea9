// The reference tus server for bench/tus_bench.py: @tus/server with @tus/file-store on
// loopback, every PATCH fsync'd before it is acknowledged (as the project does), so both
// sides keep the same durability promise. Usage: node server.mjs PORT DIRECTORY
import fs from "node:fs/promises";
import http from "node:http";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

class SyncedFileStore extends FileStore {
  async write(readable, id, offset) {
    const end = await super.write(readable, id, offset);
    const handle = await fs.open(this.resolve(id), "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return end;
  }
}

const [port, directory] = process.argv.slice(2);
const tus = new Server({ path: "/files", datastore: new SyncedFileStore({ directory }) });
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), "127.0.0.1");
