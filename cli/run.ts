/**
 * The `tswal` command line: dispatches to one command per file, maps
 * errors to the documented exit codes, and wires output to the process.
 *
 * @module
 */

import process from "node:process";
import { WalError, WalIoError } from "../mod.ts";
import { type CliIo, type Command, EXIT, UsageError } from "./common.ts";
import { dumpCommand } from "./dump.ts";
import { followCommand } from "./follow.ts";
import { inspectCommand } from "./inspect.ts";
import { repairCommand } from "./repair.ts";
import { salvageCommand } from "./salvage.ts";
import { shipCommand } from "./ship.ts";
import { tortureCommand } from "./torture.ts";
import { verifyCommand } from "./verify.ts";

/** Every command, in the order `tswal --help` lists them. */
export const COMMANDS: readonly Command[] = [inspectCommand, verifyCommand, dumpCommand, repairCommand, salvageCommand, followCommand, shipCommand, tortureCommand];

/** `tswal --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    "usage: tswal COMMAND [options]   (tswal COMMAND --help for each)",
    "",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "PATH is a log file (WalWriter) or a segment directory (Wal). Every command takes --json and --help.",
    "exit codes: 0 done (verify: sound); 1 the log is damaged or has a torn tail (repair: refused;",
    "torture: an invariant broke); 2 usage error, or nothing at PATH; 3 other failure (I/O, lock held).",
  ].join("\n");
}

/** Output to the process's stdout and stderr; progress lines only when stderr is a terminal. */
export function processIo(): CliIo {
  const isTTY = process.stderr.isTTY === true;
  let drawn = false;
  const clear = (): void => {
    if (drawn) process.stderr.write("\r\x1b[2K");
    drawn = false;
  };
  return {
    out: (text) => {
      clear();
      process.stdout.write(`${text}\n`);
    },
    err: (text) => {
      clear();
      process.stderr.write(`${text}\n`);
    },
    progress: (text) => {
      if (!isTTY) return;
      process.stderr.write(`\r\x1b[2K${text}`);
      drawn = true;
    },
    isTTY,
  };
}

/** Runs the command line `argv` (without the runtime and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.err : io.out)(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`tswal: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportFailure(command, error, io);
  }
}

/** Prints why a command failed and returns its exit code. */
function reportFailure(command: Command, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`tswal ${command.name}: ${error.message}\n\n${command.help}`);
    return EXIT.usage;
  }
  if (error instanceof WalIoError && (error.cause as { code?: unknown } | undefined)?.code === "ENOENT") {
    io.err(`tswal ${command.name}: no log at ${error.path}: ${(error.cause as Error).message}`);
    return EXIT.usage;
  }
  const code = error instanceof WalError ? `${error.code}: ` : "";
  io.err(`tswal ${command.name}: ${code}${error instanceof Error ? error.message : String(error)}`);
  return EXIT.failure;
}
