/**
 * The embedded stores a user would pick instead of tswal: better-sqlite3,
 * lmdb and classic-level (devDependencies, all with native parts).
 *
 * Each is imported dynamically from a string variable, so that a runtime
 * that cannot load it (better-sqlite3 loads on neither Bun nor Deno) skips it
 * with a note, and so that neither `tsc` nor `deno check` needs its type
 * declarations: the little of each API used here is typed by the interfaces
 * below.
 *
 * @module
 */

import { join } from "node:path";
import { order, orders } from "./records.ts";

/** better-sqlite3 workloads: WAL journal, `synchronous=FULL`, `(seq INTEGER PRIMARY KEY, value TEXT)` of JSON text. */
export interface SqlitePeer {
  /** One insert per (autocommit) transaction. */
  serial(path: string, records: number): Promise<void>;
  /** One transaction per `perTransaction` inserts. */
  bulk(path: string, records: number, perTransaction: number): Promise<void>;
  /** `select *`, iterated, each value `JSON.parse`d; returns the row count. */
  readAll(path: string): Promise<number>;
}

/** lmdb workloads, default durability, values in lmdb's own encoding. */
export interface LmdbPeer {
  /** `rounds` rounds of `callers` concurrent awaited `put`s. */
  concurrent(path: string, rounds: number, callers: number): Promise<void>;
  /** One `transaction` of `perTransaction` puts at a time, each awaited. */
  bulk(path: string, records: number, perTransaction: number): Promise<void>;
}

/** classic-level workloads, JSON values, `{ sync: true }` writes. */
export interface LevelPeer {
  /** `rounds` rounds of `callers` concurrent awaited `put`s. */
  concurrent(path: string, rounds: number, callers: number): Promise<void>;
}

/** The peers this runtime could load, and a one-line note for each that it could not. */
export interface Peers {
  readonly sqlite: SqlitePeer | null;
  readonly lmdb: LmdbPeer | null;
  readonly level: LevelPeer | null;
  readonly notes: readonly string[];
}

/** The part of better-sqlite3's statement used here. */
interface SqliteStatement {
  run(...parameters: unknown[]): unknown;
  iterate(): IterableIterator<{ seq: number; value: string }>;
}

/** The part of better-sqlite3's database used here. */
interface SqliteDatabase {
  pragma(source: string): unknown;
  exec(source: string): unknown;
  prepare(source: string): SqliteStatement;
  transaction(run: (first: number, count: number) => void): (first: number, count: number) => void;
  close(): void;
}

type SqliteConstructor = new (path: string) => SqliteDatabase;

/** The part of an lmdb store used here. */
interface LmdbStore {
  put(key: number, value: unknown): Promise<boolean>;
  transaction(run: () => void): Promise<unknown>;
  close(): Promise<void>;
}

type LmdbOpen = (options: { path: string }) => LmdbStore;

/** The part of a classic-level database used here. */
interface LevelDatabase {
  open(): Promise<void>;
  put(key: string, value: unknown, options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

type LevelConstructor = new (path: string, options: { valueEncoding: "json" }) => LevelDatabase;

/** Loads every peer, proving each by opening (and closing) a store under `dir`. */
export async function loadPeers(dir: string): Promise<Peers> {
  const notes: string[] = [];
  const attempt = async <P>(name: string, load: () => Promise<P>): Promise<P | null> => {
    try {
      return await load();
    } catch (error) {
      notes.push(`${name}: skipped, it does not load here (${skipReason(error)})`);
      return null;
    }
  };
  return {
    sqlite: await attempt("better-sqlite3", () => loadSqlite(join(dir, "probe.sqlite"))),
    lmdb: await attempt("lmdb", () => loadLmdb(join(dir, "probe.lmdb"))),
    level: await attempt("classic-level", () => loadLevel(join(dir, "probe.level"))),
    notes,
  };
}

/** The module `specifier`, imported at run time (invisible to type checkers). */
async function importPeer(specifier: string): Promise<Record<string, unknown>> {
  return await import(specifier);
}

/** better-sqlite3, once a database at `probe` opens. */
async function loadSqlite(probe: string): Promise<SqlitePeer> {
  const Database = (await importPeer("better-sqlite3")).default as SqliteConstructor;
  new Database(probe).close();
  const openDatabase = (path: string): SqliteDatabase => {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, value TEXT)");
    return db;
  };
  return {
    async serial(path, records) {
      const db = openDatabase(path);
      const insert = db.prepare("INSERT INTO records (seq, value) VALUES (?, ?)");
      for (let i = 0; i < records; i++) insert.run(i, JSON.stringify(order(i)));
      db.close();
    },
    async bulk(path, records, perTransaction) {
      const db = openDatabase(path);
      const insert = db.prepare("INSERT INTO records (seq, value) VALUES (?, ?)");
      const insertMany = db.transaction((first, count) => {
        for (const value of orders(first, count)) insert.run(value.id, JSON.stringify(value));
      });
      for (let first = 0; first < records; first += perTransaction) insertMany(first, Math.min(perTransaction, records - first));
      db.close();
    },
    async readAll(path) {
      const db = openDatabase(path);
      let count = 0;
      for (const row of db.prepare("SELECT * FROM records").iterate()) {
        JSON.parse(row.value);
        count++;
      }
      db.close();
      return count;
    },
  };
}

/** lmdb, once a store at `probe` opens. */
async function loadLmdb(probe: string): Promise<LmdbPeer> {
  const open = (await importPeer("lmdb")).open as LmdbOpen;
  await open({ path: probe }).close();
  return {
    async concurrent(path, rounds, callers) {
      const db = open({ path });
      for (let round = 0; round < rounds; round++) {
        await Promise.all(
          Array.from({ length: callers }, (_, caller) => {
            const id = round * callers + caller;
            return db.put(id, order(id));
          }),
        );
      }
      await db.close();
    },
    async bulk(path, records, perTransaction) {
      const db = open({ path });
      for (let first = 0; first < records; first += perTransaction) {
        const batch = orders(first, Math.min(perTransaction, records - first));
        await db.transaction(() => {
          for (const value of batch) void db.put(value.id, value);
        });
      }
      await db.close();
    },
  };
}

/** classic-level, once a database at `probe` opens. */
async function loadLevel(probe: string): Promise<LevelPeer> {
  const ClassicLevel = (await importPeer("classic-level")).ClassicLevel as LevelConstructor;
  const probeDb = new ClassicLevel(probe, { valueEncoding: "json" });
  await probeDb.open();
  await probeDb.close();
  return {
    async concurrent(path, rounds, callers) {
      const db = new ClassicLevel(path, { valueEncoding: "json" });
      await db.open();
      for (let round = 0; round < rounds; round++) {
        await Promise.all(
          Array.from({ length: callers }, (_, caller) => {
            const id = round * callers + caller;
            return db.put(String(id).padStart(10, "0"), order(id), { sync: true });
          }),
        );
      }
      await db.close();
    },
  };
}

/** The first line of an error's message. */
function skipReason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n", 1)[0] ?? "";
}
