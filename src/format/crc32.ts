/**
 * CRC-32 (IEEE 802.3 / ISO-HDLC, the zlib polynomial), slicing-by-8, in plain
 * TypeScript. `crc32(data, seed)` continues a running checksum exactly like
 * zlib's `crc32(data, value)`, so adapters may substitute a native function.
 * See docs/FORMAT.md for why this polynomial.
 *
 * @module
 */

/** Eight 256-entry tables for slicing-by-8, built once at module load. */
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let t = 1; t < 8; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[t * 256 + n] = c >>> 0;
    }
  }
  return tables;
}

/**
 * CRC-32 of `data[start, end)` (default: all of it), continuing from `seed`
 * (0 to start a new checksum). `crc32(b, crc32(a, 0)) === crc32(a ++ b, 0)`.
 * The range lets a caller checksum part of a buffer without a view object.
 */
export function crc32(data: Uint8Array, seed: number, start = 0, end = data.length): number {
  const t = TABLES;
  let crc = ~seed >>> 0;
  let i = start;
  const end8 = end - ((end - start) % 8);
  while (i < end8) {
    const lo = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      t[0x700 + (lo & 0xff)]! ^
      t[0x600 + ((lo >>> 8) & 0xff)]! ^
      t[0x500 + ((lo >>> 16) & 0xff)]! ^
      t[0x400 + (lo >>> 24)]! ^
      t[0x300 + (hi & 0xff)]! ^
      t[0x200 + ((hi >>> 8) & 0xff)]! ^
      t[0x100 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
    i += 8;
  }
  while (i < end) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** A CRC-32 function with zlib's `(data, seed)` signature. */
export type Crc32 = (data: Uint8Array, seed: number) => number;
