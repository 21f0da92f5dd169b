/**
 * The simulated disk's inodes and the unsynced operations queued on them.
 *
 * Durability model. Each file keeps `durable` bytes (on disk) and `volatile`
 * bytes (page cache), plus `pending`: the writes and truncates issued since
 * the last sync, in issue order. Invariant: `volatile` equals `durable` with
 * `pending` applied, except after a failed sync dropped dirty data (then the
 * cache holds bytes that are neither durable nor pending, `cacheDiverged`).
 * Each directory keeps `durableEntries` and volatile `entries` plus its
 * `pending` entry operations, with the same invariant (no divergence there).
 * Every unsynced operation carries a machine-wide issue number (`seq`).
 *
 * @module
 */

import { assert } from "../src/assert.ts";
import type { ByteBuffer } from "./bytes.ts";

/**
 * An unsynced operation, described for a harness (`pendingOperations()`).
 * Paths are normalized (`/a/b`); a write or truncate names the path its
 * handle was opened with.
 */
export type PendingOperation =
  | { readonly kind: "write"; readonly path: string; readonly position: number; readonly byteLength: number }
  | { readonly kind: "truncate"; readonly path: string; readonly size: number }
  | { readonly kind: "create" | "mkdir" | "unlink"; readonly path: string }
  | { readonly kind: "link" | "rename"; readonly from: string; readonly path: string };

/** An unsynced write: `bytes` (a private copy) at `position`. */
export interface WriteOperation {
  /** Discriminant. */
  readonly kind: "write";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** The file written. */
  readonly file: FileNode;
  /** Normalized path the handle was opened with. */
  readonly path: string;
  /** File offset of the first byte. */
  readonly position: number;
  /** The data, never empty. */
  readonly bytes: Uint8Array;
}

/** An unsynced truncate to `size` bytes. */
export interface TruncateOperation {
  /** Discriminant. */
  readonly kind: "truncate";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** The file truncated. */
  readonly file: FileNode;
  /** Normalized path the handle was opened with. */
  readonly path: string;
  /** New size in bytes. */
  readonly size: number;
}

/** An unsynced change to a file's contents. */
export type DataOperation = WriteOperation | TruncateOperation;

/** One entry set (`target` a node) or removed (`target` null) in one directory. */
export interface EntryChange {
  /** The directory whose entry changes. */
  readonly directory: DirectoryNode;
  /** The entry's name. */
  readonly name: string;
  /** What the name refers to afterwards, or null when removed. */
  readonly target: Node | null;
}

/**
 * An unsynced namespace operation: its changes become durable together. It
 * is queued in every directory it touches (two for a cross-directory rename).
 */
export interface EntryOperation {
  /** Discriminant. */
  readonly kind: "entry";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** What the caller did. */
  readonly description: PendingOperation;
  /** The entry changes, applied in order. */
  readonly changes: readonly EntryChange[];
}

/** Any operation not yet durable. */
export type UnsyncedOperation = DataOperation | EntryOperation;

/** A regular file's inode. */
export class FileNode {
  /** Discriminant. */
  readonly kind = "file";
  /** Contents on disk. */
  readonly durable: ByteBuffer;
  /** Contents in the page cache: what reads return. */
  readonly volatile: ByteBuffer;
  /** Writes and truncates since the last sync, in issue order. */
  pending: DataOperation[] = [];
  /** Set once a failed sync dropped dirty data: the cache then holds bytes neither durable nor pending. */
  cacheDiverged = false;

  /** A file whose durable and volatile contents are both `contents`. */
  constructor(contents: ByteBuffer) {
    this.durable = contents;
    this.volatile = contents.clone();
  }
}

/** A directory's inode. */
export class DirectoryNode {
  /** Discriminant. */
  readonly kind = "directory";
  /** Entries as seen by lookups. */
  readonly entries: Map<string, Node>;
  /** Entries on disk. */
  readonly durableEntries: Map<string, Node>;
  /** Entry operations touching this directory since they were last made durable, in issue order. */
  pending: EntryOperation[] = [];

  /** A directory whose durable and volatile entries are both `entries`. */
  constructor(entries: Map<string, Node> = new Map()) {
    this.entries = entries;
    this.durableEntries = new Map(entries);
  }
}

/** An inode. */
export type Node = FileNode | DirectoryNode;

/** Applies one data operation to `buffer`. */
export function applyData(buffer: ByteBuffer, operation: DataOperation): void {
  if (operation.kind === "write") {
    buffer.write(operation.position, operation.bytes);
  } else {
    buffer.resize(operation.size);
  }
}

/** Applies one entry change to `entries` (volatile or durable); a removed name must be present. */
export function applyEntryChange(entries: Map<string, Node>, change: EntryChange): void {
  if (change.target === null) {
    const removed = entries.delete(change.name);
    assert(removed, `removed entry ${change.name} must exist`);
  } else {
    entries.set(change.name, change.target);
  }
}
