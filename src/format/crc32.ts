/**
 * CRC-32 (IEEE 802.3 / ISO-HDLC, the zlib polynomial), slicing-by-8, in plain
 * TypeScript. `crc32(data, seed)` continues a running checksum exactly like
 * zlib's `crc32(data, value)`, so adapters may substitute a native function.
 * See docs/FORMAT.md for why this polynomial.
 *
 * @module
 */

/** The polynomial, bit-reversed (zlib's). */
const POLYNOMIAL = 0xedb88320;

/** Eight 256-entry tables for slicing-by-8, built once at module load. */
const TABLES: Uint32Array = buildTables();

/** Table `t` holds, for each byte, its CRC followed by `t` zero bytes. */
function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? POLYNOMIAL ^ (crc >>> 1) : crc >>> 1;
    tables[byte] = crc >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = tables[byte]!;
    for (let table = 1; table < 8; table++) {
      crc = tables[crc & 0xff]! ^ (crc >>> 8);
      tables[table * 256 + byte] = crc >>> 0;
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
  const tables = TABLES;
  let crc = ~seed >>> 0;
  let i = start;
  const blocksEnd = end - ((end - start) % 8);
  while (i < blocksEnd) {
    const low = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    const high = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      tables[0x700 + (low & 0xff)]! ^
      tables[0x600 + ((low >>> 8) & 0xff)]! ^
      tables[0x500 + ((low >>> 16) & 0xff)]! ^
      tables[0x400 + (low >>> 24)]! ^
      tables[0x300 + (high & 0xff)]! ^
      tables[0x200 + ((high >>> 8) & 0xff)]! ^
      tables[0x100 + ((high >>> 16) & 0xff)]! ^
      tables[high >>> 24]!;
    i += 8;
  }
  while (i < end) crc = tables[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** A CRC-32 function with zlib's `(data, seed)` signature. */
export type Crc32 = (data: Uint8Array, seed: number) => number;
