/**
 * `tswal/jetstream`: ship a `Wal`'s durable records to a NATS JetStream
 * stream exactly once ({@link shipToJetStream}), and rebuild a replica from
 * it ({@link replicateFromJetStream}). Needs the `@nats-io/transport-node`
 * and `@nats-io/jetstream` 3.x clients; the core `tswal` does not.
 *
 * @module
 */

export type { ConnectionOptions } from "./connection.ts";
export { BadMessageError, ForeignLogError, type RecordsLost, RecordsLostError } from "./errors.ts";
export { LOG_HEADER, messageId, SEQUENCE_HEADER, TIME_HEADER } from "./headers.ts";
export { replicateFromJetStream, type ReplicaOptions, type ReplicaReport } from "./replica.ts";
export { shipToJetStream, type ShipOptions, type ShipReport } from "./ship.ts";
