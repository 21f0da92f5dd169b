/**
 * The checks of a real-crash run: on the trace itself, and on each crash
 * state's recovery.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { coveringSyncs } from "./states.ts";
import type { Trace, TraceOp } from "./trace.ts";

/** A lock file (`<log>.lock`, its token files and claims): a crash may lose or keep it, the next open breaks it. */
export function isLockName(name: string): boolean {
  return /\.lock(\.|$)/.test(name);
}

/** What an operation touches, for messages. */
function describe(trace: Trace, op: TraceOp): string {
  const path = (id: number): string => trace.files.get(id)?.path ?? `inode ${id}`;
  switch (op.kind) {
    case "write": return `the write of ${op.data.length} B at ${op.offset} to ${path(op.file)} (trace line ${op.line})`;
    case "truncate": return `the truncation of ${path(op.file)} to ${op.size} (trace line ${op.line})`;
    case "add":
    case "remove": return `the ${op.call} of ${op.name} in ${path(op.dir)} (trace line ${op.line})`;
    case "rename": return `the rename of ${op.fromName} to ${op.name} in ${path(op.dir)} (trace line ${op.line})`;
    default: return `${op.kind} (trace line ${op.line})`;
  }
}

/** True if `op` concerns a lock file (exempt from the trace rules). */
function lockOp(trace: Trace, op: TraceOp): boolean {
  if (op.kind === "write" || op.kind === "truncate") return isLockName(trace.files.get(op.file)?.path ?? "");
  if (op.kind === "add" || op.kind === "remove") return isLockName(op.name);
  if (op.kind === "rename") return isLockName(op.name) && isLockName(op.fromName);
  return true;
}

/**
 * The trace's own rules, at each acknowledgement: every write or truncation
 * before it (of a file other than a lock file) was made durable by an
 * `fsync`/`fdatasync` of its file that completed before it; every create,
 * mkdir, link, rename and unlink before it was made durable by an `fsync` of
 * its directory that completed before it (an acknowledged record relies on
 * its log's name, and on that name's directory). One problem per operation.
 */
export function checkTrace(trace: Trace): string[] {
  const problems: string[] = [];
  const syncs = coveringSyncs(trace.ops);
  const reported = new Set<number>();
  trace.ops.forEach((ack, a) => {
    if (ack.kind !== "ack") return;
    for (let i = 0; i < a; i++) {
      const op = trace.ops[i]!;
      if (op.kind === "ack" || op.kind === "sync" || syncs[i]! < a || reported.has(i) || lockOp(trace, op)) continue;
      reported.add(i);
      const what = op.kind === "write" || op.kind === "truncate" ? "fdatasync of its file" : "fsync of its directory";
      problems.push(`"${ack.text.trim()}" (trace line ${ack.line}) came before the ${what} that makes ${describe(trace, op)} durable`);
    }
  });
  return problems;
}

/** A recovery's outcome as the recovery child reports it. */
export type Outcome =
  | { readonly ok: true; readonly records: readonly (readonly [number, string])[]; readonly repaired: string | null }
  | { readonly ok: false; readonly name: string; readonly code: string | null; readonly kind: string | null; readonly message: string };

/** Corruption kinds a crash can leave in the final batch (docs/FORMAT.md). */
const TEARABLE = new Set(["torn-batch", "partial-header", "partial-payload", "bad-magic", "checksum-mismatch"]);

/** What one state must recover: the payloads appended (sha1 by sequence from 1) and the acknowledged count. */
export interface Expectation {
  /** sha1 of each appended payload, record `i + 1` at index `i`. */
  readonly payloads: readonly string[];
  /** Records acknowledged before the crash. */
  readonly acknowledged: number;
}

/** sha1 of the UTF-8 JSON text of `value`: the payload the default codec writes. */
export function payloadHash(value: unknown): string {
  return createHash("sha1").update(new TextEncoder().encode(JSON.stringify(value))).digest("hex");
}

/** The highest `ack <n>` among `acks`. */
export function acknowledgedCount(acks: readonly string[]): number {
  return acks.reduce((max, text) => Math.max(max, Number(/ack (\d+)/.exec(text)?.[1] ?? 0)), 0);
}

/** Records check: a prefix of what was appended, byte-identical, at least the acknowledged ones. */
function checkRecords(records: readonly (readonly [number, string])[], expect: Expectation): string[] {
  if (records.length < expect.acknowledged) return [`lost acknowledged records: ${expect.acknowledged} acknowledged, ${records.length} recovered`];
  if (records.length > expect.payloads.length) return [`${records.length} records recovered, only ${expect.payloads.length} appended`];
  for (const [index, [sequence, hash]] of records.entries()) {
    if (sequence !== index + 1) return [`record ${index + 1} has sequence ${sequence}: the survivors are not a prefix of what was appended`];
    if (hash !== expect.payloads[index]) return [`record ${sequence} is not byte-identical to what was appended`];
  }
  return [];
}

/** A missing log is allowed only while nothing was acknowledged. */
function missingLog(outcome: Outcome & { ok: false }, expect: Expectation): boolean {
  return outcome.code === "ENOENT" && expect.acknowledged === 0;
}

/**
 * Checks both recoveries of one state. `strictUnchanged`: whether the strict
 * open left every file of the state byte-identical.
 */
export function checkRecovery(strict: Outcome, repair: Outcome, strictUnchanged: boolean, expect: Expectation): string[] {
  const problems: string[] = [];
  if (repair.ok) problems.push(...checkRecords(repair.records, expect).map((p) => `truncate-partial: ${p}`));
  else if (!missingLog(repair, expect)) problems.push(`truncate-partial refused: ${repair.name} ${repair.code ?? ""} ${repair.message}`);
  if (strict.ok) problems.push(...checkRecords(strict.records, expect).map((p) => `strict: ${p}`));
  else if (!missingLog(strict, expect)) {
    if (strict.kind === null || !TEARABLE.has(strict.kind)) problems.push(`strict refused with something other than a torn tail: ${strict.name} ${strict.code ?? ""} ${strict.message}`);
    if (!strictUnchanged) problems.push("strict refused but changed the files");
    if (repair.ok && repair.repaired === null) problems.push(`strict refused a torn tail (${strict.kind}) that truncate-partial did not cut`);
  }
  return problems;
}
