/**
 * The record the demo's writer appends as sequence `n`, so that the demo
 * can check every recovered record's value, not only its sequence.
 *
 * @module
 */

/** An order, a function of its sequence. */
export interface DemoOrder {
  readonly order: number;
  readonly sku: string;
  readonly qty: number;
  readonly note: string;
}

/** The value of record `n`. */
export function demoOrder(n: number): DemoOrder {
  return { order: n, sku: `sku-${(n * 7919) % 1000}`, qty: 1 + (n % 9), note: "ship to the usual address, ring twice" };
}

/** Whether `value` is what record `n` must hold. */
export function isDemoOrder(n: number, value: unknown): boolean {
  const expected = demoOrder(n);
  const got = value as Partial<DemoOrder> | null;
  return got !== null && typeof got === "object" && got.order === n && got.sku === expected.sku && got.qty === expected.qty && got.note === expected.note;
}
