#!/usr/bin/env node
/**
 * The `tswal` command: `npx tswal …` (the package's bin, compiled to
 * `dist/cli/main.js`), `bun cli/main.ts …`, `deno run -A cli/main.ts …`.
 * `tswal --help` lists the commands; see cli/run.ts.
 *
 * @module
 */

import process from "node:process";
import { processIo, runCli } from "./run.ts";

process.exitCode = await runCli(process.argv.slice(2), processIo());
