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

/**
 * Problems found, empty when the recovered log satisfies the invariants.
 * For a segmented log the records below `history.releasedBelow` may be
 * missing from the front (truncateFront, retention), those below
 * `history.goneBelow` must be; the rest holds for what remains.
 */
export function checkRecovered(history: History, recovered: readonly RecoveredRecord[]): string[] {
  const problems: string[] = [];
  const start = recovered.length > 0 ? history.startOf(recovered) : releasedCount(history);
  const entries = history.entries.slice(start);
  problems.push(...checkFront(history, recovered, start));
  const acknowledged = Math.max(0, history.acknowledgedCount - start);
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

/** What is missing from the front was released; what was released for good stayed gone. */
function checkFront(history: History, recovered: readonly RecoveredRecord[], start: number): string[] {
  const problems: string[] = [];
  const first = recovered[0]?.sequence;
  if (first !== undefined && first < history.goneBelow) problems.push(`record ${first} came back after the records below ${history.goneBelow} were released`);
  const unreleased = history.entries.slice(0, start).find((entry) => (entry.sequence ?? Number.POSITIVE_INFINITY) >= history.releasedBelow);
  if (unreleased !== undefined) problems.push(`lost records from the front: sequence ${unreleased.sequence} is gone but only records below ${history.releasedBelow} were released`);
  return problems;
}

/** How many leading entries lie below the released sequence. */
function releasedCount(history: History): number {
  let count = 0;
  while (count < history.entries.length && (history.entries[count]!.sequence ?? Number.POSITIVE_INFINITY) < history.releasedBelow) count++;
  return count;
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
