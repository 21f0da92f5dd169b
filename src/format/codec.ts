/**
 * Codecs turn values into record payloads and back. JSON is the default;
 * raw bytes are built in; anything else implements {@link Codec}.
 *
 * @module
 */

/**
 * Encodes values of type `T` to bytes and back. `decode` receives a view that
 * is only valid during the call: copy it if you keep it. Throw from `decode`
 * on bytes that are not a valid encoding; the reader reports `WalDecodeError`.
 */
export interface Codec<T> {
  /** Short name for diagnostics. */
  readonly name: string;
  /** Bytes for `value`. Throw if it cannot be encoded; nothing is written then. */
  encode(value: T): Uint8Array;
  /** The value for `bytes`. Throw if `bytes` is not a valid encoding. */
  decode(bytes: Uint8Array): T;
  /**
   * Optional, for a text encoding: the value as text, whose UTF-8 is exactly
   * what `encode` returns. With it the writer encodes the text straight into
   * its batch buffer instead of taking an array per record.
   */
  toText?(value: T): string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** JSON text in UTF-8. Values `JSON.stringify` cannot represent are rejected. */
export const jsonCodec: Codec<unknown> = {
  name: "json",
  encode(value: unknown): Uint8Array {
    return utf8Encoder.encode(jsonText(value));
  },
  toText: jsonText,
  decode(bytes: Uint8Array): unknown {
    return JSON.parse(utf8Decoder.decode(bytes));
  },
};

/** `value` as JSON text; throws for a value `JSON.stringify` cannot represent. */
function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (typeof text !== "string") throw new TypeError(`JSON cannot represent a value of type ${typeof value}`);
  return text;
}

/** Raw bytes, stored as given. Decoded values are fresh copies. */
export const bytesCodec: Codec<Uint8Array> = {
  name: "bytes",
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw new TypeError("the bytes codec takes a Uint8Array");
    return value;
  },
  decode(bytes: Uint8Array): Uint8Array {
    return bytes.slice();
  },
};
