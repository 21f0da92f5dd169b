/**
 * Parses an strace log (`strace -f -qq -X raw -xx -s <large>`) into the
 * operations a workload did on the files under one root directory, in the
 * order the system calls completed.
 *
 * File descriptors are mapped to files through `open`/`openat`/`creat`,
 * `dup*` and `close` (one descriptor table: the workload's threads share
 * it; a workload that forks is not supported). Files are identified by
 * inode numbers of our own, so a hard link or a rename keeps its identity.
 * Calls that failed, or that touch nothing under the root, are skipped.
 * Writes to the acknowledgement file become `ack` operations.
 *
 * @module
 */

import { posix } from "node:path";

/** An operation on the files under the root, or an acknowledgement. */
export type TraceOp =
  | { readonly kind: "write"; readonly line: number; readonly file: number; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly line: number; readonly file: number; readonly size: number }
  | { readonly kind: "sync"; readonly line: number; readonly file: number; readonly call: string }
  | { readonly kind: "add"; readonly line: number; readonly dir: number; readonly name: string; readonly file: number; readonly call: string }
  | { readonly kind: "remove"; readonly line: number; readonly dir: number; readonly name: string; readonly file: number; readonly call: string }
  | {
    readonly kind: "rename";
    readonly line: number;
    readonly fromDir: number;
    readonly fromName: string;
    readonly dir: number;
    readonly name: string;
    readonly file: number;
  }
  | { readonly kind: "ack"; readonly line: number; readonly text: string };

/** The parsed trace. */
export interface Trace {
  /** Operations in completion order. */
  readonly ops: readonly TraceOp[];
  /** For each inode: whether it is a directory, and its latest path relative to the root. */
  readonly files: ReadonlyMap<number, { readonly isDir: boolean; path: string }>;
  /** Reasons the trace cannot be trusted (io_uring, truncated data, unsupported calls). */
  readonly problems: readonly string[];
}

/** Inode number of the root directory. */
export const ROOT_INODE = 0;

const AT_FDCWD = -100;
const O_CREAT = 0x40;
const O_TRUNC = 0x200;
const O_APPEND = 0x400;
const O_ACCMODE = 3;
const AT_REMOVEDIR = 0x200;
const RENAME_EXCHANGE = 2;
const FALLOC_FL_KEEP_SIZE = 1;
const F_DUPFD = 0;
const F_DUPFD_CLOEXEC = 0x406;
const PROBLEMS_MAX = 20;

/** An open descriptor. */
interface Descriptor {
  readonly path: string;
  readonly file: number | null;
  readonly append: boolean;
  readonly ack: boolean;
  readonly position: { value: number };
}

/** One completed call: name, raw argument strings, return value. */
interface Call {
  readonly line: number;
  readonly name: string;
  readonly args: string[];
  readonly result: number;
}

/** Splits `a, "b", [{x=1, y=2}], 3` at top-level commas. */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (text.trim() !== "") args.push(text.slice(start).trim());
  return args;
}

/** Bytes of every `"\xNN..."` string in `text`, concatenated; `truncated` if strace cut one short. */
function stringBytes(text: string): { bytes: Uint8Array; truncated: boolean } {
  const parts: number[] = [];
  let truncated = false;
  for (const match of text.matchAll(/"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?/g)) {
    const hex = match[1]!;
    for (let i = 0; i < hex.length; i += 4) parts.push(parseInt(hex.slice(i + 2, i + 4), 16));
    if (match[2] !== undefined) truncated = true;
  }
  return { bytes: Uint8Array.from(parts), truncated };
}

/** One `"\xNN..."` argument as a path string. */
function pathArg(text: string): string {
  return new TextDecoder().decode(stringBytes(text).bytes);
}

/** Joins strace's `<unfinished ...>` / `<... resumed>` halves and yields completed calls. */
function* calls(text: string): Generator<Call> {
  const pending = new Map<string, string>();
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const match = /^(\d+)\s+(.*)$/.exec(lines[index]!);
    if (match === null) continue;
    const [, pid, body] = match as unknown as [string, string, string];
    let full = body;
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(body);
    if (resumed !== null) {
      full = (pending.get(pid) ?? "") + resumed[1];
      pending.delete(pid);
    }
    if (full.endsWith("<unfinished ...>")) {
      pending.set(pid, full.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const call = /^(\w+)\((.*)\)\s*=\s*(-?\d+|0x[0-9a-f]+)/.exec(full);
    if (call === null) continue;
    yield { line: index + 1, name: call[1]!, args: splitArgs(call[2]!), result: Number(call[3]) };
  }
}

/** Builds the operations from the calls, keeping the namespace and descriptor table. */
class TraceBuilder {
  readonly ops: TraceOp[] = [];
  readonly files = new Map<number, { isDir: boolean; path: string }>();
  readonly problems: string[] = [];
  readonly #names = new Map<string, number>();
  readonly #sizes = new Map<number, number>();
  readonly #fds = new Map<number, Descriptor>();
  #nextInode = ROOT_INODE + 1;

  constructor(readonly root: string, readonly ackPath: string, readonly cwd: string) {
    this.#names.set(root, ROOT_INODE);
    this.files.set(ROOT_INODE, { isDir: true, path: "." });
  }

  problem(message: string): void {
    if (this.problems.length < PROBLEMS_MAX) this.problems.push(message);
  }

  /** An absolute path from a directory descriptor argument and a path argument. */
  resolve(dirArg: string | null, pathText: string): string {
    const path = pathArg(pathText);
    if (path.startsWith("/")) return posix.normalize(path);
    const dirFd = dirArg === null ? AT_FDCWD : Number(dirArg);
    const base = dirFd === AT_FDCWD ? this.cwd : this.#fds.get(dirFd)?.path ?? "/nonexistent";
    return posix.join(base, path);
  }

  /** True if `path` is the root or below it. */
  under(path: string): boolean {
    return path === this.root || path.startsWith(`${this.root}/`);
  }

  /** Parent inode and entry name of `path`, if its parent is a known directory under the root. */
  entry(path: string): { dir: number; name: string } | null {
    if (!this.under(path) || path === this.root) return null;
    const dir = this.#names.get(posix.dirname(path));
    return dir === undefined ? null : { dir, name: posix.basename(path) };
  }

  relative(path: string): string {
    return posix.relative(this.root, path) || ".";
  }

  /** Renames or removes every name at or below `from` in the namespace. */
  moveNames(from: string, to: string | null): void {
    for (const [name, inode] of [...this.#names]) {
      if (name !== from && !name.startsWith(`${from}/`)) continue;
      this.#names.delete(name);
      if (to === null) continue;
      const moved = to + name.slice(from.length);
      this.#names.set(moved, inode);
      this.files.get(inode)!.path = this.relative(moved);
    }
  }

  /** `open`/`openat`/`creat`: a descriptor, creating or truncating a file under the root. */
  open(call: Call, path: string, flags: number): void {
    let file = this.#names.get(path) ?? null;
    const place = this.entry(path);
    if (file === null && (flags & O_CREAT) !== 0 && place !== null) {
      file = this.#nextInode++;
      this.#names.set(path, file);
      this.files.set(file, { isDir: false, path: this.relative(path) });
      this.#sizes.set(file, 0);
      this.ops.push({ kind: "add", line: call.line, dir: place.dir, name: place.name, file, call: "create" });
    } else if (file === null && this.under(path)) {
      this.problem(`line ${call.line}: ${call.name} of ${path}, which the trace never created`);
    }
    if (file !== null && (flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== 0 && (this.#sizes.get(file) ?? 0) > 0) {
      this.#sizes.set(file, 0);
      this.ops.push({ kind: "truncate", line: call.line, file, size: 0 });
    }
    const descriptor = { path, file, append: (flags & O_APPEND) !== 0, ack: path === this.ackPath, position: { value: 0 } };
    this.#fds.set(call.result, descriptor);
  }

  /** A write of `data` at `offset` (or at the descriptor's position). */
  write(call: Call, fd: number, data: Uint8Array, offset: number | null): void {
    const descriptor = this.#fds.get(fd);
    if (descriptor === undefined) return;
    const bytes = data.subarray(0, call.result);
    if (descriptor.ack) {
      this.ops.push({ kind: "ack", line: call.line, text: new TextDecoder().decode(bytes) });
      return;
    }
    if (descriptor.file === null) return;
    const size = this.#sizes.get(descriptor.file) ?? 0;
    const at = offset ?? (descriptor.append ? size : descriptor.position.value);
    if (offset === null) descriptor.position.value = at + bytes.length;
    this.#sizes.set(descriptor.file, Math.max(size, at + bytes.length));
    this.ops.push({ kind: "write", line: call.line, file: descriptor.file, offset: at, data: bytes.slice() });
  }

  truncate(call: Call, file: number | null | undefined, size: number): void {
    if (file === null || file === undefined) return;
    this.#sizes.set(file, size);
    this.ops.push({ kind: "truncate", line: call.line, file, size });
  }

  /** `mkdir`: a new directory entry. */
  mkdir(call: Call, path: string): void {
    const place = this.entry(path);
    if (place === null) return;
    const file = this.#nextInode++;
    this.#names.set(path, file);
    this.files.set(file, { isDir: true, path: this.relative(path) });
    this.ops.push({ kind: "add", line: call.line, dir: place.dir, name: place.name, file, call: "mkdir" });
  }

  /** `unlink`/`rmdir`. */
  remove(call: Call, path: string): void {
    const place = this.entry(path);
    const file = this.#names.get(path);
    if (place === null || file === undefined) return;
    this.moveNames(path, null);
    this.ops.push({ kind: "remove", line: call.line, dir: place.dir, name: place.name, file, call: call.name });
  }

  /** `link`: a second name for a file. */
  link(call: Call, from: string, to: string): void {
    const file = this.#names.get(from);
    const place = this.entry(to);
    if (file === undefined || place === null) return;
    this.#names.set(to, file);
    this.ops.push({ kind: "add", line: call.line, dir: place.dir, name: place.name, file, call: "link" });
  }

  /** `rename`: moves a name (and any names below it). */
  rename(call: Call, from: string, to: string): void {
    const file = this.#names.get(from);
    const source = this.entry(from);
    const target = this.entry(to);
    if (file === undefined || source === null || target === null) {
      if (this.under(from) || this.under(to)) this.problem(`line ${call.line}: rename across the root's boundary (${from} -> ${to})`);
      return;
    }
    this.moveNames(to, null);
    this.moveNames(from, to);
    this.ops.push({ kind: "rename", line: call.line, fromDir: source.dir, fromName: source.name, dir: target.dir, name: target.name, file });
  }

  /** `fsync`/`fdatasync`. */
  sync(call: Call, fd: number): void {
    const file = this.#fds.get(fd)?.file;
    if (file !== null && file !== undefined) this.ops.push({ kind: "sync", line: call.line, file, call: call.name });
  }

  /** `dup`, `dup2`, `dup3`: the new descriptor shares the old one's position. */
  dup(call: Call, fd: number): void {
    const descriptor = this.#fds.get(fd);
    if (descriptor !== undefined) this.#fds.set(call.result, descriptor);
  }

  /** The inode named `path`, or null. */
  fileAt(path: string): number | null {
    return this.#names.get(path) ?? null;
  }

  close(fd: number): void {
    this.#fds.delete(fd);
  }

  fd(fd: number): Descriptor | undefined {
    return this.#fds.get(fd);
  }
}

/** Applies one completed, successful call. */
function apply(b: TraceBuilder, call: Call): void {
  const a = call.args;
  const n = (i: number): number => Number(a[i]);
  switch (call.name) {
    case "openat": return b.open(call, b.resolve(a[0]!, a[1]!), n(2));
    case "open": return b.open(call, b.resolve(null, a[0]!), n(1));
    case "creat": return b.open(call, b.resolve(null, a[0]!), O_CREAT | O_TRUNC | 1);
    case "close": return b.close(n(0));
    case "write": return dataCall(b, call, null);
    case "pwrite64": return dataCall(b, call, n(3));
    case "writev": return dataCall(b, call, null);
    case "pwritev":
    case "pwritev2": return dataCall(b, call, n(3));
    case "lseek": {
      const descriptor = b.fd(n(0));
      if (descriptor !== undefined) descriptor.position.value = call.result;
      return;
    }
    case "ftruncate": return b.truncate(call, b.fd(n(0))?.file, n(1));
    case "truncate": return b.truncate(call, b.fileAt(b.resolve(null, a[0]!)), n(1));
    case "fallocate": return fallocate(b, call);
    case "fsync":
    case "fdatasync": return b.sync(call, n(0));
    case "mkdir": return b.mkdir(call, b.resolve(null, a[0]!));
    case "mkdirat": return b.mkdir(call, b.resolve(a[0]!, a[1]!));
    case "unlink":
    case "rmdir": return b.remove(call, b.resolve(null, a[0]!));
    case "unlinkat": return b.remove({ ...call, name: (n(2) & AT_REMOVEDIR) !== 0 ? "rmdir" : "unlink" }, b.resolve(a[0]!, a[1]!));
    case "link": return b.link(call, b.resolve(null, a[0]!), b.resolve(null, a[1]!));
    case "linkat": return b.link(call, b.resolve(a[0]!, a[1]!), b.resolve(a[2]!, a[3]!));
    case "rename": return b.rename(call, b.resolve(null, a[0]!), b.resolve(null, a[1]!));
    case "renameat": return b.rename(call, b.resolve(a[0]!, a[1]!), b.resolve(a[2]!, a[3]!));
    case "renameat2": {
      if ((n(4) & RENAME_EXCHANGE) !== 0) b.problem(`line ${call.line}: renameat2 with RENAME_EXCHANGE is not modelled`);
      return b.rename(call, b.resolve(a[0]!, a[1]!), b.resolve(a[2]!, a[3]!));
    }
    case "dup":
    case "dup2":
    case "dup3": return b.dup(call, n(0));
    case "fcntl": {
      if (n(1) === F_DUPFD || n(1) === F_DUPFD_CLOEXEC) b.dup(call, n(0));
      return;
    }
    case "io_uring_enter":
    case "io_uring_setup": return b.problem(`line ${call.line}: ${call.name}: I/O through io_uring is invisible to strace, so the crash states would miss it`);
    case "copy_file_range":
    case "sendfile": {
      if (b.fd(n(call.name === "sendfile" ? 0 : 2))?.file != null) b.problem(`line ${call.line}: ${call.name} into a file under the root is not modelled`);
      return;
    }
  }
}

/** `write`/`pwrite64`/`writev`/`pwritev`: the data and where it went. */
function dataCall(b: TraceBuilder, call: Call, offset: number | null): void {
  const { bytes, truncated } = stringBytes(call.args[1] ?? "");
  const descriptor = b.fd(Number(call.args[0]));
  if (descriptor === undefined || (descriptor.file === null && !descriptor.ack)) return;
  if (truncated || bytes.length < call.result) {
    b.problem(`line ${call.line}: ${call.name} data cut short by strace (raise -s)`);
    return;
  }
  b.write(call, Number(call.args[0]), bytes, offset);
}

/** `fallocate` mode 0 grows the file with zeros; other modes under the root are not modelled. */
function fallocate(b: TraceBuilder, call: Call): void {
  const file = b.fd(Number(call.args[0]))?.file;
  if (file === null || file === undefined) return;
  const mode = Number(call.args[1]);
  if ((mode & FALLOC_FL_KEEP_SIZE) !== 0) return;
  if (mode !== 0) return b.problem(`line ${call.line}: fallocate mode ${mode} is not modelled`);
  b.problem(`line ${call.line}: fallocate on a file under the root is not modelled`);
}

/**
 * Parses `text`, the strace log of a workload that wrote under the absolute
 * directory `root` (empty before the run) and acknowledged into `ackPath`.
 * `cwd` resolves relative paths given with `AT_FDCWD`.
 */
export function parseTrace(text: string, root: string, ackPath: string, cwd = "/"): Trace {
  const builder = new TraceBuilder(posix.normalize(root), posix.normalize(ackPath), cwd);
  for (const call of calls(text)) {
    if (call.result < 0) continue;
    apply(builder, call);
  }
  return { ops: builder.ops, files: builder.files, problems: builder.problems };
}
