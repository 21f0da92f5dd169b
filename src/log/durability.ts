/**
 * When accepted records become durable, the same way for `WalWriter` and
 * `Wal`: the `sync` option.
 *
 * - `"manual"` (default): `append` resolves once the record is accepted into
 *   the batch being filled (in memory, sequence assigned); `flush` makes
 *   everything accepted before it durable.
 * - `"always"`: `append` resolves only once its record is durable.
 *   Concurrent appends share one write and one fsync (group commit).
 * - `{ intervalMs }`: like manual, and a background flush runs `intervalMs`
 *   after the first record accepted since the last one. Nobody waits for
 *   that flush, so its failure poisons the log, and the next call reports it.
 *
 * In every mode, a batch that fills up (`maxBatchBytes`) is written and
 * synced without being asked: more durable than requested, never less.
 *
 * @module
 */

import { WalArgumentError } from "../errors.ts";

/** The `sync` option: see the module documentation. */
export type SyncMode = "manual" | "always" | { readonly intervalMs: number };

/** Largest `intervalMs`: what a timer can wait, 2^31 − 1 ms. */
const INTERVAL_MS_MAX = 0x7fff_ffff;

/** Checks a `sync` option and returns it or `"manual"`. */
export function checkSyncMode(value: unknown): SyncMode {
  if (value === undefined || value === "manual" || value === "always") return value ?? "manual";
  if (typeof value === "object" && value !== null && Object.keys(value).length === 1 && "intervalMs" in value) {
    const intervalMs = (value as { intervalMs: unknown }).intervalMs;
    if (Number.isSafeInteger(intervalMs) && (intervalMs as number) >= 1 && (intervalMs as number) <= INTERVAL_MS_MAX) {
      return { intervalMs: intervalMs as number };
    }
  }
  throw new WalArgumentError(`sync must be "manual", "always" or { intervalMs: 1 … ${INTERVAL_MS_MAX} }, not ${describeSyncOption(value)}`);
}

/** A bad `sync` option as JSON (as it would be written), or as `String` when it has no JSON form. */
function describeSyncOption(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Applies a {@link SyncMode} to accepted records. */
export class Durability {
  readonly #mode: SyncMode;
  readonly #commit: () => Promise<void>;
  readonly #poisonLog: (cause: unknown) => void;
  /** The pending background flush (`{ intervalMs }` mode only), or null. */
  #timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @param mode the checked mode
   * @param commit makes everything accepted so far durable
   * @param poison makes the log refuse further writes, with a cause
   */
  constructor(mode: SyncMode, commit: () => Promise<void>, poison: (cause: unknown) => void) {
    this.#mode = mode;
    this.#commit = commit;
    this.#poisonLog = poison;
  }

  /** What an append that accepted its records resolves with: `result` now, or once durable. */
  accepted<R>(result: R): Promise<R> {
    if (this.#mode === "always") return this.#commit().then(() => result);
    if (this.#mode !== "manual" && this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#commit().catch((error: unknown) => this.#poisonLog(error));
      }, this.#mode.intervalMs);
    }
    return Promise.resolve(result);
  }

  /** Cancels a pending background flush (the caller flushes on close). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
