/**
 * The recovery child of a real-crash run: `recover.ts <jobs.json>`, where
 * the file holds `[{ path, policy }]`. For each job it opens the log at
 * `path` with `WalWriter.open(path, { repair: policy, create: false })`,
 * closes it, reads every record as raw bytes, and prints one JSON line:
 * `{"ok":true,"records":[[sequence,"<sha1 of payload>"],…],"repaired":kind|null}`
 * or `{"ok":false,"name":…,"code":…,"kind":…}` (`code`: the system's code
 * behind a `WalIoError`, else the error's own).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import process from "node:process";
import { bytesCodec, WalReader, WalWriter } from "../../mod.ts";

/** One recovery to run. */
interface Job {
  readonly path: string;
  readonly policy: "strict" | "truncate-partial";
}

/** Opens, closes and reads one state's log; the outcome as a JSON-ready object. */
async function recover(job: Job): Promise<unknown> {
  try {
    const writer = await WalWriter.open<Uint8Array>(job.path, { repair: job.policy, create: false, codec: bytesCodec });
    const repaired = writer.repaired?.kind ?? null;
    await writer.close();
    const records: [number, string][] = [];
    for await (const record of WalReader.open(job.path, { codec: bytesCodec })) {
      records.push([record.sequence, createHash("sha1").update(record.value).digest("hex")]);
    }
    return { ok: true, records, repaired };
  } catch (error) {
    const e = error as { name?: string; code?: string; corruption?: { kind?: string }; message?: string; cause?: { code?: string } };
    return { ok: false, name: e.name ?? "Error", code: e.cause?.code ?? e.code ?? null, kind: e.corruption?.kind ?? null, message: String(e.message).slice(0, 300) };
  }
}

const jobsPath = process.argv[2];
if (jobsPath === undefined) throw new Error("usage: recover.ts <jobs.json>");
const jobs = JSON.parse(readFileSync(jobsPath, "utf8")) as Job[];
for (const job of jobs) process.stdout.write(`${JSON.stringify(await recover(job))}\n`);
