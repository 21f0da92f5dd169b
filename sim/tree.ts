/**
 * The entry operations on a machine's directory tree, checked as the kernel
 * checks them and recorded as unsynced entry operations, and a snapshot of
 * the tree.
 *
 * @module
 */

import { ByteBuffer } from "./bytes.ts";
import { fsError } from "./errors.ts";
import { DirectoryNode, FileNode } from "./inodes.ts";
import type { Machine } from "./machine.ts";
import { joinPath, resolve, resolveParent } from "./paths.ts";

/** Creates the empty file `names` (`path` as the caller gave it); `EEXIST` if the name exists. */
export function createFile(machine: Machine, names: readonly string[], path: string): FileNode {
  const { parent, name } = resolveParent(machine.root, names, "open", path);
  if (parent.entries.has(name)) throw fsError("EEXIST", "open", path);
  const file = new FileNode(new ByteBuffer());
  machine.recordEntry({ kind: "create", path: joinPath(names) }, [{ directory: parent, name, target: file }]);
  return file;
}

/** Points `toNames` at what `fromNames` names and removes `fromNames`; see `MemoryFileSystem.rename`. */
export function renameEntry(machine: Machine, fromNames: readonly string[], toNames: readonly string[], from: string, to: string): void {
  const fromKey = joinPath(fromNames);
  const toKey = joinPath(toNames);
  const source = resolveParent(machine.root, fromNames, "rename", from);
  const node = source.parent.entries.get(source.name);
  if (node === undefined) throw fsError("ENOENT", "rename", from);
  const target = resolveParent(machine.root, toNames, "rename", to);
  const replaced = target.parent.entries.get(target.name);
  if (replaced === node) return;
  if (node.kind === "directory") {
    if (replaced?.kind === "file") throw fsError("ENOTDIR", "rename", to);
    if (replaced !== undefined && replaced.entries.size > 0) throw fsError("ENOTEMPTY", "rename", to);
    if (toKey.startsWith(`${fromKey}/`)) throw fsError("EINVAL", "rename", to);
  } else if (replaced?.kind === "directory") {
    throw fsError("EISDIR", "rename", to);
  }
  machine.recordEntry({ kind: "rename", from: fromKey, path: toKey }, [
    { directory: target.parent, name: target.name, target: node },
    { directory: source.parent, name: source.name, target: null },
  ]);
}

/** Adds the name `toNames` for the file `fromNames`; `EEXIST` if it exists, `EPERM` for a directory. */
export function linkEntry(machine: Machine, fromNames: readonly string[], toNames: readonly string[], from: string, to: string): void {
  const node = resolve(machine.root, fromNames, "link", from);
  if (node === null) throw fsError("ENOENT", "link", from);
  if (node.kind === "directory") throw fsError("EPERM", "link", from);
  const target = resolveParent(machine.root, toNames, "link", to);
  if (target.parent.entries.has(target.name)) throw fsError("EEXIST", "link", to);
  machine.recordEntry({ kind: "link", from: joinPath(fromNames), path: joinPath(toNames) }, [
    { directory: target.parent, name: target.name, target: node },
  ]);
}

/** Removes the name `names` of a file; `EISDIR` for a directory. */
export function unlinkEntry(machine: Machine, names: readonly string[], path: string): void {
  const { parent, name } = resolveParent(machine.root, names, "unlink", path);
  const node = parent.entries.get(name);
  if (node === undefined) throw fsError("ENOENT", "unlink", path);
  if (node.kind === "directory") throw fsError("EISDIR", "unlink", path);
  machine.recordEntry({ kind: "unlink", path: joinPath(names) }, [{ directory: parent, name, target: null }]);
}

/** Creates the directory `names` and its missing parents, each an entry operation of its own; `EEXIST` if a file is there. */
export function makeDirectories(machine: Machine, names: readonly string[], path: string): void {
  let directory = machine.root;
  for (let index = 0; index < names.length; index++) {
    const name = names[index] ?? "";
    const existing = directory.entries.get(name);
    if (existing?.kind === "file") throw fsError(index === names.length - 1 ? "EEXIST" : "ENOTDIR", "mkdir", path);
    if (existing === undefined) {
      const created = new DirectoryNode();
      const createdPath = joinPath(names.slice(0, index + 1));
      machine.recordEntry({ kind: "mkdir", path: createdPath }, [{ directory, name, target: created }]);
      directory = created;
    } else {
      directory = existing;
    }
  }
}

/** Every path under `root` in the volatile tree, depth first with names sorted, mapped to a copy of the file's contents or to `directory`. */
export function snapshotTree(root: DirectoryNode): Map<string, Uint8Array | "directory"> {
  const result = new Map<string, Uint8Array | "directory">();
  const visit = (directory: DirectoryNode, names: readonly string[]): void => {
    const sorted = [...directory.entries].sort(([left], [right]) => (left < right ? -1 : 1));
    for (const [name, node] of sorted) {
      const childNames = [...names, name];
      if (node.kind === "directory") {
        result.set(joinPath(childNames), "directory");
        visit(node, childNames);
      } else {
        result.set(joinPath(childNames), node.volatile.view().slice());
      }
    }
  };
  visit(root, []);
  return result;
}
