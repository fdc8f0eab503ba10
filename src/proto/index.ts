// Entry point of the protobuf layer: the generated BookKeeper messages and the int64 helpers.
export { bookkeeper } from './generated/bookkeeper.js';
export { fromProtoInt64, fromProtoUint64, toProtoInt64, type ProtoInt64 } from './int64.js';
