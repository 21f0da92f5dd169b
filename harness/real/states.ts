/**
 * Crash states from a parsed trace, ALICE-style: for every prefix of the
 * operations, what the disk may hold after a power loss at that point.
 *
 * An operation is *covered* once a later `fsync`/`fdatasync` of its file
 * (data: writes, truncations) or of its directory (entries: create, mkdir,
 * link, rename, unlink; a rename needs both of its directories) completed
 * inside the prefix: it persists. The others may persist or not:
 * - `synced-only`: every uncovered operation lost;
 * - `all`: every uncovered operation persisted whole;
 * - `random`: seeded; each uncovered write persists whole, is lost, or is
 *   torn into 512 B or 4 KiB pieces aligned in the file, each piece new,
 *   left as it was, zeroed or garbage (the file's size may grow with the
 *   write or only as far as its last landed piece); each uncovered
 *   truncation persists or not; each directory keeps a prefix of its
 *   uncovered entry operations (entries persist in order, as a journalling
 *   filesystem commits them).
 * A prefix that ends just before an acknowledgement is skipped: the prefix
 * that includes it has the same disk states and a stricter expectation.
 * States are deduplicated by content.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { linkSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Prng } from "../../sim/mod.ts";
import { ROOT_INODE, type Trace, type TraceOp } from "./trace.ts";

/** How a state's uncovered operations were decided. */
export type VariantKind = "synced-only" | "all" | "random";

/** One crash state, in memory. */
export interface CrashState {
  /** Operations of the trace that happened before the crash. */
  readonly prefix: number;
  /** How the uncovered ones were decided. */
  readonly kind: VariantKind;
  /** Uncovered operations at this prefix. */
  readonly uncovered: number;
  /** The text of every acknowledgement before the crash. */
  readonly acks: readonly string[];
  /** Relative path to contents (`null` for a directory), in creation order. */
  readonly tree: ReadonlyMap<string, Uint8Array | null>;
  /** Groups of relative paths that are hard links to one file. */
  readonly links: readonly (readonly string[])[];
  /** Content hash, for deduplication. */
  readonly key: string;
}

/** Bounds of {@link crashStates}. */
export interface StateOptions {
  /** Seed of the random variants. */
  readonly seed: number;
  /** Random variants per prefix that has uncovered operations. */
  readonly variants: number;
  /** At most this many states (the deterministic ones first, then a seeded sample of the random ones). */
  readonly maxStates: number;
}

/** For each operation, the index of the first sync that covers it (Infinity if none). */
export function coveringSyncs(ops: readonly TraceOp[]): number[] {
  const lastSync = new Map<number, number>();
  const result: number[] = new Array<number>(ops.length).fill(Infinity);
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    const after = (file: number): number => lastSync.get(file) ?? Infinity;
    if (op.kind === "sync") lastSync.set(op.file, i);
    else if (op.kind === "write" || op.kind === "truncate") result[i] = after(op.file);
    else if (op.kind === "add" || op.kind === "remove") result[i] = after(op.dir);
    else if (op.kind === "rename") result[i] = Math.max(after(op.dir), after(op.fromDir));
  }
  return result;
}

/** What happens to an uncovered write in one state. */
type WriteFate = "whole" | "lost" | { readonly piece: number; readonly pieces: readonly number[]; readonly grow: boolean };

/** Decisions for the uncovered operations of one state. */
interface Plan {
  readonly writes: Map<number, WriteFate>;
  readonly truncates: Map<number, boolean>;
  /** Directory inode to the number of its uncovered entry operations that persist. */
  readonly entries: Map<number, number>;
}

/** Piece fates: the new bytes land, the old bytes stay, zeros, or garbage. */
const NEW = 0;
const OLD = 1;
const ZERO = 2;
const GARBAGE = 3;

/** A seeded plan for the uncovered operations `uncovered`. */
function randomPlan(ops: readonly TraceOp[], uncovered: readonly number[], next: () => number): Plan {
  const plan: Plan = { writes: new Map(), truncates: new Map(), entries: new Map() };
  const perDir = new Map<number, number>();
  for (const i of uncovered) {
    const op = ops[i]!;
    if (op.kind === "write") plan.writes.set(i, randomFate(op, next));
    else if (op.kind === "truncate") plan.truncates.set(i, next() < 0.5);
    else if (op.kind !== "sync" && op.kind !== "ack") perDir.set(op.dir, (perDir.get(op.dir) ?? 0) + 1);
  }
  for (const [dir, count] of perDir) plan.entries.set(dir, Math.floor(next() * (count + 1)));
  return plan;
}

/** Whole, lost, or torn into pieces with seeded fates. */
function randomFate(op: TraceOp & { kind: "write" }, next: () => number): WriteFate {
  const r = next();
  if (r < 0.3) return "whole";
  if (r < 0.5) return "lost";
  const piece = next() < 0.5 ? 512 : 4096;
  const first = Math.floor(op.offset / piece);
  const last = Math.floor((op.offset + op.data.length - 1) / piece);
  const pieces = Array.from({ length: last - first + 1 }, () => {
    const f = next();
    return f < 0.5 ? NEW : f < 0.7 ? OLD : f < 0.85 ? ZERO : GARBAGE;
  });
  return { piece, pieces, grow: next() < 0.5 };
}

/** A plan that keeps (`all`) or loses (`synced-only`) every uncovered operation. */
function uniformPlan(ops: readonly TraceOp[], uncovered: readonly number[], keep: boolean): Plan {
  const plan: Plan = { writes: new Map(), truncates: new Map(), entries: new Map() };
  for (const i of uncovered) {
    const op = ops[i]!;
    if (op.kind === "write") plan.writes.set(i, keep ? "whole" : "lost");
    else if (op.kind === "truncate") plan.truncates.set(i, keep);
    else if (op.kind !== "sync" && op.kind !== "ack") plan.entries.set(op.dir, keep ? Infinity : 0);
  }
  return plan;
}

/** A file or directory of the simulated disk. */
interface Node {
  data: Uint8Array;
  readonly entries: Map<string, number>;
}

/** Sets `node`'s size, zero-filling growth. */
function resize(node: Node, size: number): void {
  if (size === node.data.length) return;
  const data = new Uint8Array(size);
  data.set(node.data.subarray(0, Math.min(size, node.data.length)));
  node.data = data;
}

/** Applies a write under its fate. */
function applyWrite(node: Node, op: TraceOp & { kind: "write" }, fate: WriteFate, seed: number): void {
  const end = op.offset + op.data.length;
  if (fate === "lost") return;
  if (fate === "whole") {
    if (end > node.data.length) resize(node, end);
    node.data.set(op.data, op.offset);
    return;
  }
  const before = node.data.length;
  const first = Math.floor(op.offset / fate.piece) * fate.piece;
  let landedEnd = before;
  fate.pieces.forEach((f, k) => {
    if (f !== OLD) landedEnd = Math.max(landedEnd, Math.min(end, first + (k + 1) * fate.piece));
  });
  resize(node, Math.max(before, fate.grow ? end : landedEnd));
  fate.pieces.forEach((f, k) => {
    const from = Math.max(op.offset, first + k * fate.piece);
    const to = Math.min(end, first + (k + 1) * fate.piece, node.data.length);
    for (let x = from; x < to; x++) {
      if (f === NEW) node.data[x] = op.data[x - op.offset]!;
      else if (f === ZERO) node.data[x] = 0;
      else if (f === GARBAGE) node.data[x] = (Math.imul(x + seed, 2654435761) >>> 24) & 0xff;
    }
  });
}

/** The disk after `ops[0..prefix)` under `plan`. */
function simulate(ops: readonly TraceOp[], prefix: number, covered: (i: number) => boolean, plan: Plan, seed: number): Map<number, Node> {
  const nodes = new Map<number, Node>();
  const node = (id: number): Node => {
    let n = nodes.get(id);
    if (n === undefined) nodes.set(id, n = { data: new Uint8Array(0), entries: new Map() });
    return n;
  };
  node(ROOT_INODE);
  const entryBudget = new Map(plan.entries);
  const entryPersists = (i: number, dir: number): boolean => {
    if (covered(i)) return true;
    const left = entryBudget.get(dir) ?? 0;
    entryBudget.set(dir, left - 1);
    return left > 0;
  };
  for (let i = 0; i < prefix; i++) {
    const op = ops[i]!;
    if (op.kind === "write") applyWrite(node(op.file), op, covered(i) ? "whole" : plan.writes.get(i)!, seed + i);
    else if (op.kind === "truncate" && (covered(i) || plan.truncates.get(i) === true)) resize(node(op.file), op.size);
    else if (op.kind === "add" && entryPersists(i, op.dir)) node(op.dir).entries.set(op.name, op.file);
    else if (op.kind === "remove" && entryPersists(i, op.dir)) node(op.dir).entries.delete(op.name);
    else if (op.kind === "rename" && entryPersists(i, op.dir)) {
      node(op.fromDir).entries.delete(op.fromName);
      node(op.dir).entries.set(op.name, op.file);
    }
  }
  return nodes;
}

/** The tree reachable from the root, links grouped, and a content key. */
function snapshot(nodes: Map<number, Node>, isDir: (id: number) => boolean): Pick<CrashState, "tree" | "links" | "key"> {
  const tree = new Map<string, Uint8Array | null>();
  const names = new Map<number, string[]>();
  const hash = createHash("sha1");
  const walk = (id: number, path: string): void => {
    for (const [name, child] of [...nodes.get(id)?.entries ?? []].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const childPath = path === "" ? name : `${path}/${name}`;
      const dir = isDir(child);
      const data = dir ? null : nodes.get(child)?.data ?? new Uint8Array(0);
      tree.set(childPath, data);
      hash.update(`${childPath}\0${dir ? "d" : data!.length}\0${child}\0`);
      if (data !== null) hash.update(data);
      if (!dir) names.set(child, [...names.get(child) ?? [], childPath]);
      if (dir) walk(child, childPath);
    }
  };
  walk(ROOT_INODE, "");
  return { tree, links: [...names.values()].filter((group) => group.length > 1), key: hash.digest("hex") };
}

/** Prefixes worth crashing at: all but those that end right before an acknowledgement. */
function prefixes(ops: readonly TraceOp[]): number[] {
  const result: number[] = [];
  for (let k = 0; k <= ops.length; k++) if (k === ops.length || ops[k]!.kind !== "ack") result.push(k);
  return result;
}

/** The crash states of `trace`, bounded by `options`. */
export function crashStates(trace: Trace, options: StateOptions): CrashState[] {
  const ops = trace.ops;
  const syncs = coveringSyncs(ops);
  const isDir = (id: number): boolean => trace.files.get(id)?.isDir ?? false;
  const next = new Prng(options.seed).floats();
  const fixed: CrashState[] = [];
  const random: CrashState[] = [];
  const seen = new Set<string>();
  for (const k of prefixes(ops)) {
    const covered = (i: number): boolean => syncs[i]! < k;
    const uncovered = ops.slice(0, k).flatMap((op, i) => (op.kind !== "sync" && op.kind !== "ack" && !covered(i) ? [i] : []));
    const acks = ops.slice(0, k).flatMap((op) => (op.kind === "ack" ? [op.text] : []));
    const plans: [VariantKind, Plan][] = [["synced-only", uniformPlan(ops, uncovered, false)]];
    if (uncovered.length > 0) {
      plans.push(["all", uniformPlan(ops, uncovered, true)]);
      for (let v = 0; v < options.variants; v++) plans.push(["random", randomPlan(ops, uncovered, next)]);
    }
    for (const [kind, plan] of plans) {
      const state = { prefix: k, kind, uncovered: uncovered.length, acks, ...snapshot(simulate(ops, k, covered, plan, options.seed), isDir) };
      const key = `${state.key}:${acks.length}`;
      if (seen.has(key)) continue;
      seen.add(key);
      (kind === "random" ? random : fixed).push(state);
    }
  }
  return [...fixed, ...shuffle(random, next)].slice(0, options.maxStates);
}

/** Fisher–Yates with the seeded generator. */
function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Writes `state` under the directory `target` (created), hard links as
 * links, every file's times an hour in the past (a lock file left by the
 * crash is as old as a reboot would make it).
 */
export function writeState(state: CrashState, target: string): void {
  mkdirSync(target, { recursive: true });
  const linked = new Map<string, string>();
  for (const group of state.links) for (const path of group.slice(1)) linked.set(path, group[0]!);
  const past = new Date(Date.now() - 3_600_000);
  for (const [path, data] of state.tree) {
    const full = join(target, path);
    const first = linked.get(path);
    if (data === null) mkdirSync(full);
    else if (first !== undefined) linkSync(join(target, first), full);
    else {
      writeFileSync(full, data);
      utimesSync(full, past, past);
    }
  }
}
