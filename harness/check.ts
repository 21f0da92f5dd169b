/**
 * The harness's invariants over a recovered log, given the history:
 * 1. every acknowledged record is present, in order, byte-identical;
 * 2. nothing appears that was never appended (or was cleanly refused);
 * 3. what survives beyond the acknowledged prefix is a prefix of what was
 *    appended after it: no holes, no reordering.
 * Together: the recovered records are a prefix of the appended entries that
 * is at least as long as the acknowledged prefix.
 *
 * @module
 */

import type { History, RecoveredRecord } from "./history.ts";

/** Problems found, empty when the recovered log satisfies the invariants. */
export function checkRecovered(history: History, recovered: readonly RecoveredRecord[]): string[] {
  const problems: string[] = [];
  const entries = history.entries;
  const acknowledged = history.acknowledgedCount;
  if (recovered.length < acknowledged) {
    problems.push(`lost acknowledged records: ${acknowledged} acknowledged, ${recovered.length} recovered`);
  }
  if (recovered.length > entries.length) {
    problems.push(`${recovered.length - entries.length} record(s) recovered that were never appended`);
  }
  const compared = Math.min(recovered.length, entries.length);
  for (let i = 0; i < compared; i++) {
    const entry = entries[i]!;
    const record = recovered[i]!;
    const what = i < acknowledged ? "acknowledged" : "unacknowledged";
    if (entry.sequence !== null && entry.sequence !== record.sequence) {
      problems.push(`record ${i} (${what}): sequence ${record.sequence}, appended as ${entry.sequence}`);
      break;
    }
    if (!sameValue(entry.value, record.value)) {
      problems.push(`record ${i} (${what}, sequence ${record.sequence}): value differs from what was appended`);
      break;
    }
  }
  return problems;
}

/** Structural equality of decoded values (JSON values or byte arrays). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}
