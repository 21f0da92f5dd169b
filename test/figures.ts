/**
 * Tests record the figures of what they explored (crash states, faults,
 * kills, fuzz cases); `scripts/test.mjs` prints them after each runtime's run.
 *
 * @module
 */

import { appendFileSync, mkdirSync } from "node:fs";
import { runtimeName } from "../adapters/auto.ts";

/** Appends one figure (`name`: `value`) to `.tmp/figures-<runtime>.txt`. */
export function recordFigure(name: string, value: number): void {
  mkdirSync(".tmp", { recursive: true });
  appendFileSync(`.tmp/figures-${runtimeName()}.txt`, `${name}\t${value}\n`);
}
