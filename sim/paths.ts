/**
 * Paths of the in-memory filesystem: splitting a caller's path into entry
 * names (with the kernel's length limits), its normalized form, and looking
 * names up in the volatile tree.
 *
 * @module
 */

import { fsError } from "./errors.ts";
import type { DirectoryNode, Node } from "./inodes.ts";

/** Longest name of a directory entry, in UTF-8 bytes (`NAME_MAX`). */
export const NAME_BYTES_MAX = 255;
/** Longest path accepted, in UTF-16 code units (`PATH_MAX`, approximately). */
export const PATH_LENGTH_MAX = 4096;

const utf8 = new TextEncoder();

/**
 * Splits `path` into entry names: `/` separated, empty and `.` segments
 * dropped, `..` resolved lexically (never above the root). Absolute and
 * relative paths both start at the root.
 */
export function splitPath(path: string, syscall: string): string[] {
  if (typeof path !== "string" || path.length === 0) throw fsError("ENOENT", syscall, String(path));
  if (path.includes("\0")) throw fsError("EINVAL", syscall, path);
  if (path.length > PATH_LENGTH_MAX) throw fsError("ENAMETOOLONG", syscall, path);
  const names: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      names.pop();
      continue;
    }
    if (utf8.encode(segment).length > NAME_BYTES_MAX) throw fsError("ENAMETOOLONG", syscall, path);
    names.push(segment);
  }
  return names;
}

/** The normalized form of split names: `/a/b`, or `/` for the root. */
export function joinPath(names: readonly string[]): string {
  return `/${names.join("/")}`;
}

/** The node at `names`, or null when the last name is absent. An intermediate file throws `ENOTDIR`, an absent one `ENOENT`. */
export function resolve(root: DirectoryNode, names: readonly string[], syscall: string, path: string): Node | null {
  let node: Node = root;
  for (let index = 0; index < names.length; index++) {
    if (node.kind !== "directory") throw fsError("ENOTDIR", syscall, path);
    const child = node.entries.get(names[index] ?? "");
    if (child === undefined) {
      if (index === names.length - 1) return null;
      throw fsError("ENOENT", syscall, path);
    }
    node = child;
  }
  return node;
}

/** The directory that holds (or would hold) the last name of `names`. The root itself has no parent: `EBUSY`. */
export function resolveParent(
  root: DirectoryNode,
  names: readonly string[],
  syscall: string,
  path: string,
): { readonly parent: DirectoryNode; readonly name: string } {
  const name = names[names.length - 1];
  if (name === undefined) throw fsError("EBUSY", syscall, path);
  const parent = resolve(root, names.slice(0, -1), syscall, path);
  if (parent === null) throw fsError("ENOENT", syscall, path);
  if (parent.kind !== "directory") throw fsError("ENOTDIR", syscall, path);
  return { parent, name };
}
