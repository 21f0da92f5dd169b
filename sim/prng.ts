/**
 * The one seeded pseudo-random generator of the simulator and the harness.
 *
 * @module
 */

import { assert } from "../src/assert.ts";

/**
 * Deterministic pseudo-random numbers (mulberry32): the same seed yields the
 * same sequence on every runtime. Not for anything but simulation choices.
 */
export class Prng {
  #state: number;

  /** A generator seeded with the low 32 bits of the safe integer `seed`. */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `seed ${seed} must be a safe integer`);
    this.#state = seed >>> 0;
  }

  /** The next value, uniform in `[0, 2^32)`. */
  nextU32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let mixed = this.#state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (mixed ^ (mixed >>> 14)) >>> 0;
  }

  /** The next value, uniform in `[0, 1)`. */
  nextFloat(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** {@link nextFloat} as a function, for code that takes a `() => number` source of randomness. */
  floats(): () => number {
    return () => this.nextFloat();
  }

  /** An integer in `[0, bound)`; `bound` is at least 1 and at most 2^32. */
  below(bound: number): number {
    assert(Number.isSafeInteger(bound) && bound >= 1 && bound <= 2 ** 32, `bound ${bound}`);
    return Math.floor((this.nextU32() / 2 ** 32) * bound);
  }

  /** True or false with equal probability. */
  coin(): boolean {
    return (this.nextU32() & 1) === 1;
  }

  /** `lengthBytes` random bytes. */
  bytes(lengthBytes: number): Uint8Array {
    assert(Number.isSafeInteger(lengthBytes) && lengthBytes >= 0, `length ${lengthBytes}`);
    const bytes = new Uint8Array(lengthBytes);
    for (let index = 0; index < lengthBytes; index += 4) {
      let word = this.nextU32();
      for (let lane = index; lane < Math.min(index + 4, lengthBytes); lane++) {
        bytes[lane] = word & 0xff;
        word >>>= 8;
      }
    }
    return bytes;
  }
}
