// Ledger metadata znode bodies, byte-compatible with BookKeeper's LedgerMetadataSerDe.
//   every format: ASCII "BookieMetadataFormatVersion\t<n>\n"
//   v3 (written): varint32 length + binary LedgerMetadataFormat (protobuf writeDelimited)
//   v2 (read):    LedgerMetadataFormat in protobuf TextFormat
//   v1 (read):    lines W, E, length, then "firstEntryId\tbookie\t..." per ensemble, and a closing
//                 "lastEntryId\tCLOSED" line once closed (-102 there meaning IN_RECOVERY)
// Decoded Buffers (password, custom values) are copies: metadata lives in caches far longer than
// the znode data it came from.
import { InvalidArgumentError } from '../errors.js';
import { bookkeeper, fromProtoInt64, toProtoInt64, type ProtoInt64 } from '../proto/index.js';
import type { DigestType } from '../protocol/digest.js';
import { parseTextFormat, type TextField, type TextScalar } from './text-format.js';
import { WireError } from '../protocol/wire-error.js';

export type LedgerState = 'OPEN' | 'IN_RECOVERY' | 'CLOSED';

/** An ensemble and the first entry it serves; it serves up to the next segment's first entry. */
export type EnsembleSegment = readonly [firstEntryId: bigint, bookies: readonly string[]];

export interface LedgerMetadata {
  readonly ensembleSize: number;
  readonly writeQuorumSize: number;
  readonly ackQuorumSize: number;
  readonly state: LedgerState;
  /** -1n until the ledger is closed. */
  readonly lastEntryId: bigint;
  /** Total payload bytes; 0n until the ledger is closed. */
  readonly length: bigint;
  /** With `password`; both are absent only in v1 metadata. */
  readonly digestType?: DigestType;
  readonly password?: Buffer;
  /** Ascending by first entry id, each with `ensembleSize` bookie ids. */
  readonly ensembles: readonly EnsembleSegment[];
  /** Creation time, ms since the epoch, when the creator stored it. */
  readonly ctime?: number;
  readonly customMetadata: ReadonlyMap<string, Buffer>;
  /** The creator's random token (v3 only): a retried create recognises its own znode by it. */
  readonly cToken?: bigint;
}

const VERSION_KEY = 'BookieMetadataFormatVersion';
const V3_HEADER = Buffer.from(`${VERSION_KEY}\t3\n`, 'latin1');
/** The lastEntryId BookKeeper's v1 format writes for a ledger in recovery. */
const V1_IN_RECOVERY = -102n;

type Format = bookkeeper.LedgerMetadataFormat.$Properties;
const { LedgerMetadataFormat } = bookkeeper;
const { State, DigestType: ProtoDigestType } = LedgerMetadataFormat;

/** Serialises in format v3, the default of BookKeeper 4.9 and later. */
export function encodeLedgerMetadata(metadata: LedgerMetadata): Buffer {
  const problem = invalidity(metadata);
  if (problem !== undefined) throw new InvalidArgumentError(`invalid ledger metadata: ${problem}`);
  const format: Format = {
    quorumSize: metadata.writeQuorumSize,
    ensembleSize: metadata.ensembleSize,
    length: toProtoInt64(metadata.length),
    lastEntryId: toProtoInt64(metadata.lastEntryId),
    state: State[metadata.state],
    segment: metadata.ensembles.map(([firstEntryId, bookies]) => ({
      ensembleMember: [...bookies],
      firstEntryId: toProtoInt64(firstEntryId),
    })),
    digestType: metadata.digestType === undefined ? null : ProtoDigestType[metadata.digestType],
    password: metadata.password ?? null,
    ackQuorumSize: metadata.ackQuorumSize,
    ctime: metadata.ctime ?? null,
    customMetadata: [...metadata.customMetadata].map(([key, value]) => ({ key, value })),
    cToken: metadata.cToken === undefined ? null : toProtoInt64(metadata.cToken),
  };
  return Buffer.concat([V3_HEADER, LedgerMetadataFormat.encodeDelimited(format).finish()]);
}

/** Parses any of formats v1 to v3. Throws WireError MALFORMED_METADATA. */
export function decodeLedgerMetadata(data: Buffer): LedgerMetadata {
  const newline = data.indexOf(0x0a);
  const header = (newline < 0 ? '' : data.toString('latin1', 0, newline)).split('\t');
  const versionText = header[1];
  if (header.length !== 2 || header[0] !== VERSION_KEY || versionText === undefined || !/^\d+$/.test(versionText)) {
    throw malformed('missing the BookieMetadataFormatVersion header line');
  }
  const body = data.subarray(newline + 1);
  let metadata: LedgerMetadata;
  switch (versionText) {
    case '1':
      metadata = parseV1(body.toString('utf8'));
      break;
    case '2':
      metadata = fromFormat(formatFromText(parseText(body.toString('utf8'))));
      break;
    case '3':
      metadata = fromFormat(decodeBinary(body));
      break;
    default:
      throw malformed(`unsupported metadata format version ${versionText}`);
  }
  const problem = invalidity(metadata);
  if (problem !== undefined) throw malformed(problem);
  return metadata;
}

function decodeBinary(body: Buffer): Format {
  try {
    // Like Java's parseDelimitedFrom, bytes after the delimited message are ignored.
    return LedgerMetadataFormat.decodeDelimited(body);
  } catch (error) {
    throw malformed(`undecodable LedgerMetadataFormat: ${messageOf(error)}`, error);
  }
}

function fromFormat(format: Format): LedgerMetadata {
  const lastEntryId = format.lastEntryId ?? null;
  const password = format.password ?? null;
  const ctime = format.ctime ?? null;
  const cToken = format.cToken ?? null;
  return {
    ensembleSize: format.ensembleSize,
    writeQuorumSize: format.quorumSize,
    ackQuorumSize: format.ackQuorumSize ?? format.quorumSize,
    state: enumName(State, format.state),
    lastEntryId: lastEntryId === null ? -1n : fromProtoInt64(lastEntryId),
    length: fromProtoInt64(format.length),
    // BookKeeper takes the digest type only along with a password, defaulting it to CRC32.
    ...(password !== null && {
      password: Buffer.from(password),
      digestType: enumName(ProtoDigestType, format.digestType ?? ProtoDigestType.CRC32),
    }),
    ensembles: sortedEnsembles(
      (format.segment ?? []).map((s) => [fromProtoInt64(s.firstEntryId), [...(s.ensembleMember ?? [])]] as const),
    ),
    ...(ctime !== null && { ctime: Number(fromProtoInt64(ctime)) }),
    customMetadata: new Map(
      (format.customMetadata ?? []).map((e) => [e.key ?? '', Buffer.from(e.value ?? new Uint8Array(0))] as const),
    ),
    ...(cToken !== null && { cToken: fromProtoInt64(cToken) }),
  };
}

/** BookKeeper keeps ensembles in a TreeMap: sorted by first entry, a repeated key keeping the last. */
function sortedEnsembles(segments: readonly EnsembleSegment[]): EnsembleSegment[] {
  return [...new Map(segments)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function parseV1(text: string): LedgerMetadata {
  const lines = text.split('\n');
  while (lines.at(-1) === '') lines.pop();
  const [w, e, length, ...rest] = lines;
  const writeQuorumSize = v1Integer(w);
  const ensembles: EnsembleSegment[] = [];
  let state: LedgerState = 'OPEN';
  let lastEntryId = -1n;
  for (const line of rest) {
    const [first, ...bookies] = line.split('\t');
    if (bookies[0] === 'CLOSED') {
      const closedAt = v1BigInt(first);
      if (closedAt === V1_IN_RECOVERY) {
        state = 'IN_RECOVERY';
      } else {
        state = 'CLOSED';
        lastEntryId = closedAt;
      }
      break;
    }
    ensembles.push([v1BigInt(first), bookies]);
  }
  return {
    ensembleSize: v1Integer(e),
    writeQuorumSize,
    ackQuorumSize: writeQuorumSize,
    state,
    lastEntryId,
    length: v1BigInt(length),
    ensembles: sortedEnsembles(ensembles),
    customMetadata: new Map(),
  };
}

function v1BigInt(text: string | undefined): bigint {
  if (text === undefined || !/^-?\d+$/.test(text)) throw malformed(`bad number ${JSON.stringify(text)} in v1 metadata`);
  return BigInt(text);
}

function v1Integer(text: string | undefined): number {
  return int32(v1BigInt(text));
}

function parseText(text: string): TextField[] {
  try {
    return parseTextFormat(text);
  } catch (error) {
    throw malformed(`bad v2 TextFormat: ${messageOf(error)}`, error);
  }
}

/** Maps TextFormat fields onto LedgerMetadataFormat; unknown fields are errors, as in Java's parser. */
function formatFromText(fields: readonly TextField[]): Format {
  let quorumSize: number | undefined;
  let ensembleSize: number | undefined;
  let length: ProtoInt64 | undefined;
  let state: bookkeeper.LedgerMetadataFormat.State | undefined;
  const segment: bookkeeper.LedgerMetadataFormat.Segment.$Properties[] = [];
  const customMetadata: bookkeeper.LedgerMetadataFormat.CustomMetadataEntry.$Properties[] = [];
  const optional: Omit<Format, 'quorumSize' | 'ensembleSize' | 'length' | 'state'> = { segment, customMetadata };
  for (const field of fields) {
    switch (field.name) {
      case 'quorumSize':
        quorumSize = int32(integer(field));
        break;
      case 'ensembleSize':
        ensembleSize = int32(integer(field));
        break;
      case 'length':
        length = toProtoInt64(integer(field));
        break;
      case 'lastEntryId':
        optional.lastEntryId = toProtoInt64(integer(field));
        break;
      case 'state':
        state = enumValue(State, field);
        break;
      case 'segment':
        segment.push(segmentFromText(message(field)));
        break;
      case 'digestType':
        optional.digestType = enumValue(ProtoDigestType, field);
        break;
      case 'password':
        optional.password = bytes(field);
        break;
      case 'ackQuorumSize':
        optional.ackQuorumSize = int32(integer(field));
        break;
      case 'ctime':
        optional.ctime = toProtoInt64(integer(field));
        break;
      case 'customMetadata':
        customMetadata.push(customEntryFromText(message(field)));
        break;
      case 'cToken':
        optional.cToken = toProtoInt64(integer(field));
        break;
      default:
        throw malformed(`unknown LedgerMetadataFormat field ${field.name}`);
    }
  }
  if (quorumSize === undefined || ensembleSize === undefined || length === undefined || state === undefined) {
    throw malformed('v2 metadata lacks a required field (quorumSize, ensembleSize, length or state)');
  }
  return { ...optional, quorumSize, ensembleSize, length, state };
}

function segmentFromText(fields: readonly TextField[]): bookkeeper.LedgerMetadataFormat.Segment.$Properties {
  const ensembleMember: string[] = [];
  let firstEntryId: ProtoInt64 | undefined;
  for (const field of fields) {
    if (field.name === 'ensembleMember') ensembleMember.push(bytes(field).toString('utf8'));
    else if (field.name === 'firstEntryId') firstEntryId = toProtoInt64(integer(field));
    else throw malformed(`unknown segment field ${field.name}`);
  }
  if (firstEntryId === undefined) throw malformed('segment without firstEntryId');
  return { ensembleMember, firstEntryId };
}

function customEntryFromText(fields: readonly TextField[]): { key: string; value: Buffer } {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const field of fields) {
    if (field.name === 'key') key = bytes(field).toString('utf8');
    else if (field.name === 'value') value = bytes(field);
    else throw malformed(`unknown customMetadata field ${field.name}`);
  }
  return { key, value };
}

function scalar(field: TextField): TextScalar {
  if (Array.isArray(field.value)) throw malformed(`${field.name} must be a scalar`);
  return field.value as TextScalar;
}

function integer(field: TextField): bigint {
  const value = scalar(field);
  if (value.kind !== 'integer') throw malformed(`${field.name} must be an integer`);
  return value.value;
}

function bytes(field: TextField): Buffer {
  const value = scalar(field);
  if (value.kind !== 'bytes') throw malformed(`${field.name} must be a string`);
  return value.value;
}

function message(field: TextField): readonly TextField[] {
  if (!Array.isArray(field.value)) throw malformed(`${field.name} must be a message`);
  return field.value as readonly TextField[];
}

/** An enum field given by name (as Java prints it) or by number. */
function enumValue<E extends number>(values: Readonly<Record<string, E | string>>, field: TextField): E {
  const value = scalar(field);
  const found =
    value.kind === 'identifier' ? values[value.text] : value.kind === 'integer' ? Number(value.value) : undefined;
  if (typeof found !== 'number' || values[found] === undefined) throw malformed(`bad ${field.name} value`);
  return found as E;
}

function enumName<N extends string>(
  values: Readonly<Record<number, string>> & Readonly<Record<N, number>>,
  value: number,
): N {
  const name = values[value];
  if (name === undefined) throw malformed(`unknown enum value ${value}`);
  return name as N;
}

function int32(value: bigint): number {
  if (value < -0x80000000n || value > 0x7fffffffn) throw malformed(`${value} does not fit in 32 bits`);
  return Number(value);
}

/** Why BookKeeper would refuse this metadata, if it would. */
function invalidity(m: LedgerMetadata): string | undefined {
  if (!(m.ensembleSize >= m.writeQuorumSize && m.writeQuorumSize >= m.ackQuorumSize && m.ackQuorumSize >= 1)) {
    const sizes = `ensemble ${m.ensembleSize} >= write ${m.writeQuorumSize} >= ack ${m.ackQuorumSize}`;
    return `quorum sizes must satisfy ${sizes} >= 1`;
  }
  if (m.ensembles.length === 0) return 'no ensemble';
  let previous = -1n;
  for (const [firstEntryId, bookies] of m.ensembles) {
    if (firstEntryId <= previous) return 'ensembles are not in ascending first-entry order';
    if (bookies.length !== m.ensembleSize) {
      return `ensemble at entry ${firstEntryId} has ${bookies.length} bookies, expected ${m.ensembleSize}`;
    }
    previous = firstEntryId;
  }
  if ((m.digestType === undefined) !== (m.password === undefined)) return 'digestType and password go together';
  if (m.ctime !== undefined && !Number.isSafeInteger(m.ctime)) return `ctime ${m.ctime} is not an integer`;
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function malformed(message: string, cause?: unknown): WireError {
  return new WireError('MALFORMED_METADATA', message, cause === undefined ? {} : { cause });
}
