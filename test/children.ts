/**
 * Child processes of each runtime, for tests that need real processes (locks
 * across processes, byte-identical output across runtimes, SIGKILL).
 *
 * Whichever runtime the test itself runs in, a child of runtime `R` runs in
 * `R`:
 *
 * - **bun**: `node_modules/.bin/bun <script.ts>` (Bun runs TypeScript).
 * - **deno**: `node_modules/.bin/deno run -A <script.ts>` (likewise).
 * - **node**: real Node (this process's `execPath` when the test runs on
 *   Node, else `$WAL_NODE`, else `node` on `PATH`), started with
 *   `--import` of a one-line data: module that registers
 *   `test/children/node-ts-hooks.mjs`: module hooks that compile each `.ts`
 *   file with the `typescript` devDependency as it is imported (cached by
 *   content hash under `.tmp/node-ts-cache/`). No build step and no `dist/`,
 *   so a child always runs the sources as they are on disk; see that file
 *   for why this beats building `dist/`.
 *
 * Children are told apart from impostors (say, a `node` on `PATH` that is
 * really Bun) by asking them: {@link Agent.hello} checks that the child
 * reports the runtime it was started as.
 *
 * Every child started here is SIGKILLed when the test process exits, and
 * {@link killAll} kills the ones still running (call it in `afterAll`).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeName } from "../adapters/auto.ts";

/** The runtimes a child can run in. */
export type Runtime = "node" | "bun" | "deno";

/** Every runtime, in a fixed order. */
export const RUNTIMES: readonly Runtime[] = ["node", "bun", "deno"];

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A child script under `test/children/`, by file name. */
export function childScript(name: string): string {
  return join(ROOT, "test", "children", name);
}

const BIN = join(ROOT, "node_modules", ".bin");

/** The path of a real Node executable. */
function nodeExecutable(): string {
  if (runtimeName() === "node") return process.execPath;
  return process.env["WAL_NODE"] ?? "node";
}

/** The command line that runs the TypeScript file `script` with `args` in `runtime`. */
export function childCommand(runtime: Runtime, script: string, args: readonly string[] = []): string[] {
  switch (runtime) {
    case "node": {
      const hooks = pathToFileURL(childScript("node-ts-hooks.mjs")).href;
      const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hooks)})`;
      return [nodeExecutable(), "--import", register, script, ...args];
    }
    case "bun":
      return [join(BIN, "bun"), script, ...args];
    case "deno":
      return [join(BIN, "deno"), "run", "-A", "--quiet", script, ...args];
  }
}

/** How a child ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

const live = new Set<Child>();
process.on("exit", () => {
  for (const child of live) child.kill();
});

/** Kills every child started by this process that is still running, and waits for them. */
export async function killAll(): Promise<void> {
  const children = [...live];
  for (const child of children) child.kill();
  await Promise.all(children.map((child) => child.exited));
}

/**
 * One child process: its stdout as lines, its stderr kept for diagnostics,
 * its stdin for commands.
 */
export class Child {
  /** The runtime it was started in. */
  readonly runtime: Runtime;
  /** Its process id. */
  readonly pid: number;
  /** Resolves once it has exited (and been reaped) and its output is all read. */
  readonly exited: Promise<Exit>;
  readonly #process: ChildProcess;
  readonly #lines: string[] = [];
  #partial = "";
  #stderr = "";
  #exit: Exit | null = null;
  #wake: (() => void) | null = null;

  private constructor(runtime: Runtime, child: ChildProcess) {
    this.runtime = runtime;
    this.#process = child;
    if (child.pid === undefined) throw new Error(`could not start a ${runtime} child`);
    this.pid = child.pid;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      const parts = (this.#partial + chunk).split("\n");
      this.#partial = parts.pop()!;
      this.#lines.push(...parts);
      this.#notify();
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8000);
    });
    child.stdin!.on("error", () => undefined); // EPIPE once it is dead
    this.exited = new Promise<Exit>((resolve) => {
      // "close", not "exit": by then every byte of its stdout has been read.
      child.on("close", (code, signal) => {
        this.#exit = { code, signal };
        live.delete(this);
        this.#notify();
        resolve(this.#exit);
      });
    });
    live.add(this);
  }

  /** Starts `script` (a TypeScript file) with `args` in `runtime`. */
  static spawn(runtime: Runtime, script: string, args: readonly string[] = []): Child {
    const [command, ...rest] = childCommand(runtime, script, args);
    const env: Record<string, string | undefined> = {
      ...process.env,
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PROMPT: "1",
      NO_COLOR: "1",
    };
    delete env["NODE_OPTIONS"]; // the test runner's, not the child's
    const child = spawn(command!, rest, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    return new Child(runtime, child);
  }

  /** What it wrote to stderr (the last 8000 characters). */
  get stderr(): string {
    return this.#stderr;
  }

  /** How it ended, or null while it runs. */
  get exit(): Exit | null {
    return this.#exit;
  }

  /** A description for failure messages. */
  describe(): string {
    const state = this.#exit === null ? "running" : `exited ${JSON.stringify(this.#exit)}`;
    return `${this.runtime} child ${this.pid} (${state}); stderr: ${this.#stderr.trim() || "(empty)"}`;
  }

  /**
   * Resolves with the next stdout line (consuming it and every line before
   * it) for which `match` returns true; rejects if the child exits first or
   * `timeoutMs` passes (a bound against hangs, not a performance check).
   * One waiter per child at a time.
   */
  async waitForLine(match: (line: string) => boolean = () => true, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#lines.length > 0) {
        const line = this.#lines.shift()!;
        if (match(line)) return line;
      }
      if (this.#exit !== null) throw new Error(`no matching line before exit: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching line within ${timeoutMs} ms: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Stdout lines received and not yet consumed, consuming them. */
  takeLines(): string[] {
    return this.#lines.splice(0);
  }

  /** Writes one line to its stdin. */
  send(line: string): void {
    this.#process.stdin!.write(`${line}\n`);
  }

  /** SIGKILLs it (nothing if it has exited). Await {@link exited} before relying on it being gone. */
  kill(): void {
    if (this.#exit === null) this.#process.kill("SIGKILL");
  }

  #notify(): void {
    this.#wake?.();
  }
}

/** A failure reported by an agent: the error's name, `code`, message and lock holder. */
export interface AgentError {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
  readonly holder: { pid: number; hostname: string; runtime: string } | null;
}

/** An agent's answer to one command. */
export type AgentReply<R> = { readonly ok: true; readonly result: R } | {
  readonly ok: false;
  readonly error: AgentError;
};

/**
 * A long-lived child running `test/children/agent.ts`: it performs log
 * operations (see `test/children/ops.ts`) sent as JSON lines on stdin and
 * answers each with one JSON line, so one child serves many steps.
 */
export class Agent {
  readonly child: Child;
  #nextId = 1;

  private constructor(child: Child) {
    this.child = child;
  }

  /** Starts an agent in `runtime` and checks that it really runs there. */
  static async start(runtime: Runtime): Promise<Agent> {
    const agent = new Agent(Child.spawn(runtime, childScript("agent.ts")));
    await agent.hello();
    return agent;
  }

  /** Its runtime. */
  get runtime(): Runtime {
    return this.child.runtime;
  }

  /** Its process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** Asks who it is; throws unless it reports the runtime and pid it was started as. */
  async hello(): Promise<void> {
    const reply = await this.request<{ runtime: string; pid: number }>({ op: "hello" });
    if (!reply.ok || reply.result.runtime !== this.runtime || reply.result.pid !== this.pid) {
      throw new Error(`a ${this.runtime} child (pid ${this.pid}) answered hello with ${JSON.stringify(reply)}`);
    }
  }

  /** Sends one command and waits for its reply. */
  async request<R>(command: Record<string, unknown>, timeoutMs = 20_000): Promise<AgentReply<R>> {
    const id = this.#nextId++;
    this.child.send(JSON.stringify({ ...command, id }));
    const line = await this.child.waitForLine((l) => l.startsWith("{"), timeoutMs);
    const reply = JSON.parse(line) as AgentReply<R> & { id: number };
    if (reply.id !== id) throw new Error(`reply ${reply.id} to command ${id}: ${line}`);
    return reply;
  }

  /** Like {@link request}, but throws if the command failed. */
  async call<R>(command: Record<string, unknown>, timeoutMs?: number): Promise<R> {
    const reply = await this.request<R>(command, timeoutMs);
    if (!reply.ok) {
      throw new Error(
        `${this.runtime} agent failed ${JSON.stringify(command).slice(0, 300)}: ${JSON.stringify(reply.error)}`,
      );
    }
    return reply.result;
  }

  /** SIGKILLs it and waits until it is gone. */
  async kill(): Promise<Exit> {
    this.child.kill();
    return await this.child.exited;
  }
}
