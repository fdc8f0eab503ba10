// The open ledger's metadata that the codec and the ledger manager tests share, with its v3 znode
// assembled by hand from LedgerMetadataFormat's field table.
import type { LedgerMetadata } from '../../src/ledger-metadata/ledger-metadata-codec.js';

/** Bytes from hex text; `#` starts a comment, whitespace is ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

export const BOOKIES = ['b1:3181', 'b2:3181', 'b3:3181'];

export const OPEN_LEDGER: LedgerMetadata = {
  ensembleSize: 3,
  writeQuorumSize: 2,
  ackQuorumSize: 2,
  state: 'OPEN',
  lastEntryId: -1n,
  length: 0n,
  digestType: 'CRC32C',
  password: Buffer.from('pw'),
  ensembles: [[0n, BOOKIES]],
  customMetadata: new Map(),
  cToken: 42n,
};

// Hand-assembled from the LedgerMetadataFormat field table.
export const OPEN_LEDGER_ZNODE = hex(`
  426F6F6B69654D65746164617461466F726D617456657273696F6E 09 33 0A  # "BookieMetadataFormatVersion\\t3\\n"
  3C                                   # varint32 length: 60 bytes follow
  08 02                                # 1 quorumSize 2
  10 03                                # 2 ensembleSize 3
  18 00                                # 3 length 0
  20 FF FF FF FF FF FF FF FF FF 01     # 4 lastEntryId -1 (10-byte varint)
  28 01                                # 5 state OPEN
  32 1D                                # 6 segment, 29 bytes:
     0A 07 62313A33313831              #   ensembleMember "b1:3181"
     0A 07 62323A33313831              #   ensembleMember "b2:3181"
     0A 07 62333A33313831              #   ensembleMember "b3:3181"
     10 00                             #   firstEntryId 0
  38 03                                # 7 digestType CRC32C
  42 02 7077                           # 8 password "pw"
  48 02                                # 9 ackQuorumSize 2
  60 2A                                # 12 cToken 42
`);
