/**
 * A nats-server with JetStream for the tests and the bench, on loopback, on
 * a free port, with a temporary store directory; restartable on the same
 * port and store.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, Socket } from "node:net";

/** Where the nats-server binary is, or null (with why) when there is none. */
export function findNatsServer(): { path: string } | { path: null; reason: string } {
  for (const path of ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]) {
    if (existsSync(path)) return { path };
  }
  const which = spawnSync("which", ["nats-server"], { encoding: "utf8" });
  const found = which.stdout?.trim() ?? "";
  if (which.status === 0 && found !== "") return { path: found };
  return { path: null, reason: "no nats-server binary (install the Debian package nats-server, as .ci/run does)" };
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once something accepts connections on `port` (tries every 20 ms, up to `attempts` times). */
async function waitForPort(port: number, attempts = 500): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

/** A running nats-server. */
export class NatsServer {
  /** Its client URL. */
  readonly url: string;
  readonly #binary: string;
  readonly #port: number;
  readonly #store: string;
  #process: ChildProcess | null = null;
  #log = "";

  private constructor(binary: string, port: number, store: string) {
    this.#binary = binary;
    this.#port = port;
    this.#store = store;
    this.url = `nats://127.0.0.1:${port}`;
  }

  /** Starts one with JetStream storing in `store`. */
  static async start(binary: string, store: string): Promise<NatsServer> {
    const server = new NatsServer(binary, await freePort(), store);
    await server.#run();
    return server;
  }

  async #run(): Promise<void> {
    const child = spawn(this.#binary, ["-js", "-a", "127.0.0.1", "-p", String(this.#port), "-sd", this.#store], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-4000)));
    this.#process = child;
    await waitForPort(this.#port);
  }

  /** Stops it (SIGTERM) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === null) return;
    this.#process = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  /** Stops it and starts it again on the same port and store. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#run();
  }

  /** Its recent log, for failure messages. */
  get log(): string {
    return this.#log;
  }
}
