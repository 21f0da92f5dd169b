/**
 * Process identity and liveness for the lock, shared by the Node, Bun and
 * Deno adapters (all three provide `node:fs` and `node:process`).
 *
 * On Linux a process is identified by the machine's boot id
 * (`/proc/sys/kernel/random/boot_id`), its pid namespace (the
 * `/proc/self/ns/pid` link) and its start time (`/proc/<pid>/stat` field 22,
 * clock ticks since boot), so that a pid seen from another container, or a
 * pid reused by an unrelated process, is never taken for the holder. Deno 2
 * lets only `--allow-all` read `/proc` (`--allow-read=/proc` is refused);
 * without it these facts are unknown and the lock falls back to heartbeat
 * age. Elsewhere the pid namespace is `host` (no pid namespaces) and
 * liveness is `kill(pid, 0)`.
 *
 * @module
 */

import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import type { ProcessStatus } from "../src/fs.ts";
import { errorCode } from "../src/fs.ts";

/** What {@link ownProcessFacts} tells about this process: fields absent when unknown. */
export interface ProcessFacts {
  /** `/proc/sys/kernel/random/boot_id`: which boot of which machine. */
  readonly bootId?: string;
  /** The `/proc/self/ns/pid` link, e.g. `pid:[4026531836]`; `host` where there are no pid namespaces. */
  readonly pidNamespace?: string;
  /** `/proc/self/stat` field 22: clock ticks from boot to this process's start. */
  readonly startTime?: string;
}

/** `/proc/<pid>/stat` field of the start time (1-based, as in proc(5)). */
const STAT_FIELD_START_TIME = 22;
/** `/proc/<pid>/stat` field of the state: `Z` (zombie) and `X` (dead) are processes that will never run again. */
const STAT_FIELD_STATE = 3;

/** Read once: none of them changes during a process's life. */
let ownFacts: ProcessFacts | null = null;

/** This process's boot id, pid namespace and start time, as far as they can be read. */
export function ownProcessFacts(): ProcessFacts {
  ownFacts ??= readOwnFacts();
  return ownFacts;
}

function readOwnFacts(): ProcessFacts {
  if (process.platform !== "linux") return { pidNamespace: "host" };
  const bootId = attempt(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  const pidNamespace = attempt(() => readlinkSync("/proc/self/ns/pid"));
  const startTime = attempt(() => startTimeOf(readFileSync(`/proc/${process.pid}/stat`, "utf8")));
  return {
    ...(bootId === undefined || bootId === "" ? {} : { bootId }),
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
    ...(startTime === undefined ? {} : { startTime }),
  };
}

/** The value of `read`, or undefined if it throws. */
function attempt(read: () => string | undefined): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Field `field` (1-based, 3 or more) of a `/proc/<pid>/stat` line; the command name (field 2) may hold spaces and parentheses. */
function statField(statLine: string, field: number): string | undefined {
  return statLine.slice(statLine.lastIndexOf(")") + 2).split(" ")[field - 3];
}

/** The start time in a `/proc/<pid>/stat` line, or undefined if it is not there. */
function startTimeOf(statLine: string): string | undefined {
  const value = statField(statLine, STAT_FIELD_START_TIME);
  return value !== undefined && /^[0-9]+$/.test(value) ? value : undefined;
}

/** `kill(pid, 0)`: `ESRCH` means gone, success or `EPERM` alive, anything else (a sandbox) refused. */
function killZero(pid: number): "alive" | "gone" | "refused" {
  try {
    process.kill(pid, 0);
    return "alive";
  } catch (error) {
    const code = errorCode(error);
    if (code === "ESRCH") return "gone";
    return code === "EPERM" ? "alive" : "refused";
  }
}

/**
 * Whether `pid` exists here and since when: `/proc/<pid>/stat` on Linux, else
 * (or when `/proc` cannot be read) `kill(pid, 0)`. `unknown` when neither can
 * answer, naming the permission that would let it.
 */
export async function processStatus(pid: number): Promise<ProcessStatus> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: "unknown", reason: `pid ${pid} is not a process id` };
  if (process.platform === "linux") {
    try {
      const statLine = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = statField(statLine, STAT_FIELD_STATE);
      if (state === "Z" || state === "X") return { state: "gone" };
      const startTime = startTimeOf(statLine);
      return startTime === undefined ? { state: "alive" } : { state: "alive", startTime };
    } catch (error) {
      if (errorCode(error) === "ENOENT") return { state: "gone" };
    }
  }
  const probe = killZero(pid);
  if (probe !== "refused") return { state: probe };
  return {
    state: "unknown",
    reason: `cannot tell whether pid ${pid} is alive: allow reading /proc (Deno: --allow-all) or signalling processes (Deno: --allow-run)`,
  };
}
