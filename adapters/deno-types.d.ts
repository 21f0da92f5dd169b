/**
 * The slice of Deno's global `Deno` namespace that `adapters/deno.ts` uses,
 * for type-checking it with `tsc` (which does not know Deno). Signatures copy
 * Deno 2's `lib.deno.ns.d.ts`, narrowed to what is called.
 *
 * This file is only ever included by `tsconfig.json`, never imported: under
 * `deno check` Deno's real declarations apply instead, and the two would clash.
 */

declare namespace Deno {
  /** Options for {@link Deno.open}. */
  interface OpenOptions {
    read?: boolean;
    write?: boolean;
    createNew?: boolean;
  }

  /** Seek origin for {@link FsFile.seekSync}. */
  enum SeekMode {
    Start = 0,
    Current = 1,
    End = 2,
  }

  /** What {@link Deno.stat} and {@link FsFile.stat} return (the fields used). */
  interface FileInfo {
    isFile: boolean;
    isDirectory: boolean;
    size: number;
    mtime: Date | null;
  }

  /** An entry yielded by {@link Deno.readDir} (the field used). */
  interface DirEntry {
    name: string;
  }

  /** An open file (the methods used). */
  interface FsFile {
    read(p: Uint8Array): Promise<number | null>;
    write(p: Uint8Array): Promise<number>;
    writeSync(p: Uint8Array): number;
    seekSync(offset: number | bigint, whence: SeekMode): number;
    truncate(len?: number): Promise<void>;
    syncData(): Promise<void>;
    syncDataSync(): void;
    sync(): Promise<void>;
    stat(): Promise<FileInfo>;
    close(): void;
  }

  const pid: number;
  const version: { deno: string };
  function hostname(): string;
  function open(path: string | URL, options?: OpenOptions): Promise<FsFile>;
  function stat(path: string | URL): Promise<FileInfo>;
  function readFile(path: string | URL): Promise<Uint8Array<ArrayBuffer>>;
  function rename(oldpath: string | URL, newpath: string | URL): Promise<void>;
  function link(oldpath: string, newpath: string): Promise<void>;
  function remove(path: string | URL): Promise<void>;
  function mkdir(path: string | URL, options?: { recursive?: boolean }): Promise<void>;
  function readDir(path: string | URL): AsyncIterable<DirEntry>;
  function unrefTimer(id: number): void;
}
