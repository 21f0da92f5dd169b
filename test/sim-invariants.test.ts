/**
 * The simulator's own invariants under seeded random operation sequences:
 * files and directories created, written, truncated, renamed across
 * directories, linked, unlinked, synced (some syncs failing), then crashed
 * under every outcome and every subset outcome. Each crash checks the
 * machine's asserted invariants (cache equals disk plus pending operations,
 * the unsynced count, one fate per unsynced operation, directory syncs that
 * keep a prefix); any `invariant violated` error fails the test.
 */

import { expect, test } from "vitest";
import { CRASH_OUTCOMES, MemoryFileSystem, Prng, subsetOutcomes } from "../sim/mod.ts";
import type { FileHandle } from "../src/fs.ts";

const DIRECTORIES = ["/a", "/b", "/a/c"] as const;
const NAMES = ["x", "y", "z"] as const;

/** Runs `steps` seeded random operations; ordinary errors (`ENOENT`, `EEXIST`, injected faults) are part of the run. */
async function randomRun(fs: MemoryFileSystem, prng: Prng, steps: number): Promise<void> {
  const pick = <T>(items: readonly T[]): T => items[prng.below(items.length)]!;
  const path = (): string => `${pick(DIRECTORIES)}/${pick(NAMES)}`;
  const handles: FileHandle[] = [];
  for (const directory of DIRECTORIES) await fs.mkdir(directory);
  for (let step = 0; step < steps; step++) {
    const handle = handles.length > 0 ? pick(handles) : null;
    const choice = prng.below(10);
    const run = async (): Promise<void> => {
      if (choice === 0) handles.push(await fs.open(path(), "create"));
      else if (choice === 1) handles.push(await fs.open(path(), "write"));
      else if (choice === 2 && handle !== null) await handle.write(prng.bytes(1 + prng.below(700)), prng.below(5000));
      else if (choice === 3 && handle !== null) await handle.truncate(prng.below(3000));
      else if (choice === 4 && handle !== null) {
        if (prng.below(4) === 0) fs.injectFault({ op: "sync" });
        await handle.sync();
      } else if (choice === 5) await fs.rename(path(), path());
      else if (choice === 6) await fs.link(path(), path());
      else if (choice === 7) await fs.unlink(path());
      else if (choice === 8) await fs.syncDir(pick(DIRECTORIES));
      else await fs.syncDir(pick(["/", "/a"]));
    };
    await run().catch((error: unknown) => {
      if (error instanceof Error && error.message.includes("invariant violated")) throw error;
    });
  }
}

test("random operation sequences keep the simulator's invariants through every crash outcome", async () => {
  let crashes = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const fs = new MemoryFileSystem({ seed });
    await randomRun(fs, new Prng(seed), 120);
    const pending = fs.pendingOperations();
    for (const outcome of CRASH_OUTCOMES) {
      fs.crash(outcome).pendingOperations();
      crashes++;
    }
    for (const outcome of subsetOutcomes(pending, { exhaustiveMax: 8, samples: 8, seed }).outcomes) {
      fs.crash(outcome);
      crashes++;
    }
    for (let keep = 0; keep <= pending.length; keep++) fs.crash({ kind: "prefix", keep });
  }
  expect(crashes).toBeGreaterThan(12 * CRASH_OUTCOMES.length);
});
