/**
 * Text into a batch: UTF-8 written into a byte array at an offset. The
 * portable encoder is `TextEncoder.encodeInto`, which needs a view starting
 * at the offset (a `subarray` per record); an adapter may supply a native
 * call that takes the offset instead (`FileSystem.utf8Into`).
 *
 * @module
 */

/** UTF-8 takes at most this many bytes per UTF-16 code unit. */
export const UTF8_BYTES_PER_CODE_UNIT_MAX = 3;

/**
 * Writes `text` as UTF-8 into `bytes` from `offset` and returns the bytes
 * written: exactly the bytes `TextEncoder.encodeInto` writes (a lone
 * surrogate as U+FFFD). The caller guarantees room for
 * {@link UTF8_BYTES_PER_CODE_UNIT_MAX} bytes per code unit of `text`.
 */
export type Utf8Into = (text: string, bytes: Uint8Array, offset: number) => number;

const encoder = new TextEncoder();

/** {@link Utf8Into} with `TextEncoder.encodeInto`, on any runtime. */
export const utf8IntoPortable: Utf8Into = (text, bytes, offset) => encoder.encodeInto(text, bytes.subarray(offset)).written;
