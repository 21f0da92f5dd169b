/**
 * The {@link FileHandle} of the in-memory filesystem.
 *
 * @module
 */

import type { FileHandle } from "../src/fs.ts";
import { FILE_BYTES_MAX } from "./bytes.ts";
import { fsError } from "./errors.ts";
import { type OperationName, type ResolvedFault, throwFault } from "./faults.ts";
import type { FileNode } from "./inodes.ts";
import type { Machine } from "./machine.ts";

/** Throws `EINVAL` unless `value` is a valid file offset or size (a non-negative safe integer). */
function checkPosition(value: number, syscall: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw fsError("EINVAL", syscall, path);
}

/** An open file of a {@link MemoryFileSystem}: refers to the inode, not the name. */
export class MemoryFileHandle implements FileHandle {
  readonly #machine: Machine;
  readonly #pid: number;
  readonly #file: FileNode;
  /** Normalized path opened, for fault matching and pending-operation descriptions. */
  readonly #normalizedPath: string;
  /** Path as the caller gave it, for messages. */
  readonly #path: string;
  readonly #readOnly: boolean;
  #closed = false;

  /** A handle of process `pid` on `file`, opened as `path` (normalized: `normalizedPath`). */
  constructor(machine: Machine, pid: number, file: FileNode, normalizedPath: string, path: string, readOnly: boolean) {
    this.#machine = machine;
    this.#pid = pid;
    this.#file = file;
    this.#normalizedPath = normalizedPath;
    this.#path = path;
    this.#readOnly = readOnly;
  }

  /** Reads from the cache; see {@link FileHandle.read}. */
  async read(buffer: Uint8Array, position: number): Promise<number> {
    const fault = this.#begin("read");
    checkPosition(position, "read", this.#path);
    throwFault(fault, "read", this.#path);
    return this.#file.volatile.read(buffer, position);
  }

  /** Writes all of `data` at `position`; an injected fault first lands its `bytesWritten` leading bytes. */
  async write(data: Uint8Array, position: number): Promise<void> {
    const fault = this.#begin("write");
    if (this.#readOnly) throw fsError("EBADF", "write", this.#path);
    checkPosition(position, "write", this.#path);
    if (position + data.length > FILE_BYTES_MAX) throw fsError("EFBIG", "write", this.#path);
    const landedBytes = fault === null ? data.length : Math.min(fault.bytesWritten, data.length);
    if (landedBytes > 0) this.#machine.recordWrite(this.#file, this.#normalizedPath, position, data.slice(0, landedBytes));
    throwFault(fault, "write", this.#path);
  }

  /** Sets the cached size and queues the truncate. */
  async truncate(size: number): Promise<void> {
    const fault = this.#begin("truncate");
    if (this.#readOnly) throw fsError("EBADF", "truncate", this.#path);
    checkPosition(size, "truncate", this.#path);
    if (size > FILE_BYTES_MAX) throw fsError("EFBIG", "truncate", this.#path);
    throwFault(fault, "truncate", this.#path);
    this.#machine.recordTruncate(this.#file, this.#normalizedPath, size);
  }

  /** Makes the file durable; an injected fault drops its dirty data instead (see `FaultRule`). */
  async sync(): Promise<void> {
    const fault = this.#begin("sync");
    if (fault !== null) this.#machine.dropDirty(this.#file);
    throwFault(fault, "sync", this.#path);
    this.#machine.syncFile(this.#file);
    this.#machine.fileSyncsCompleted++;
  }

  /** The cached size. */
  async size(): Promise<number> {
    throwFault(this.#begin("size"), "size", this.#path);
    return this.#file.volatile.size;
  }

  /** Releases the handle, even when an injected fault makes it throw. */
  async close(): Promise<void> {
    const fault = this.#begin("close");
    this.#closed = true;
    throwFault(fault, "close", this.#path);
  }

  #begin(operation: OperationName): ResolvedFault | null {
    if (this.#closed) throw fsError("EBADF", operation, this.#path);
    return this.#machine.begin(this.#pid, operation, [this.#normalizedPath], this.#path);
  }
}
