// LedgerDirsStorage on real files: placement by ledgerId mod n, reads through the right dir,
// deletion, and the checkpoint mark (every dir written, the newest read back).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCheckpointMark } from '../../src/bookie/checkpoint-mark.js';
import { LedgerDirsStorage } from '../../src/bookie/ledger-dirs-storage.js';
import { LedgerStorage } from '../../src/bookie/ledger-storage.js';

function envelope(ledgerId: bigint, entryId: bigint): Buffer {
  const b = randomBytes(256);
  b.writeBigUInt64BE(ledgerId, 0);
  b.writeBigUInt64BE(entryId, 8);
  return b;
}

describe('LedgerDirsStorage', function () {
  this.timeout(20_000);
  let base: string;
  let dirs: string[];

  beforeEach(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'ledger-dirs-'));
    dirs = [0, 1, 2].map((i) => path.join(base, `d${i}`));
  });

  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('puts ledger L in dir L mod 3, reads it back after reopening, and deletes it there', async () => {
    const written = new Map<string, Buffer>();
    const storage = await LedgerDirsStorage.open(dirs);
    for (let l = 0n; l < 9n; l++) {
      for (let e = 0n; e < 5n; e++) {
        const env = envelope(l, e);
        written.set(`${l}:${e}`, env);
        await storage.addEntry(l, e, env);
      }
    }
    await storage.flush();
    await storage.deleteLedger(4n);
    await storage.close();

    for (const [i, dir] of dirs.entries()) {
      const one = await LedgerStorage.open({ dir });
      const want = [0n, 1n, 2n, 3n, 5n, 6n, 7n, 8n].filter((l) => l % 3n === BigInt(i));
      expect(await one.listLedgers(), `ledgers in dir ${i}`).to.deep.equal(want);
      await one.close();
    }

    const again = await LedgerDirsStorage.open(dirs);
    try {
      expect(await again.listLedgers()).to.deep.equal([0n, 1n, 2n, 3n, 5n, 6n, 7n, 8n]);
      expect(again.ledgerExists(4n)).to.equal(false);
      for (const [key, env] of written) {
        const [l, e] = key.split(':').map(BigInt) as [bigint, bigint];
        if (l === 4n) continue;
        expect((await again.getEntry(l, e)).equals(env), key).to.equal(true);
      }
      expect(again.lastEntryId(7n)).to.equal(4n);
    } finally {
      await again.close();
    }
  });

  it('writes the checkpoint mark to every dir and reads back the newest', async () => {
    const storage = await LedgerDirsStorage.open(dirs);
    try {
      expect(await storage.readCheckpointMark()).to.deep.equal({ fileId: 0, offset: 0 });
      await storage.writeCheckpointMark({ fileId: 3, offset: 4096 });
      // a crash while writing marks leaves an older one in some dir
      await writeCheckpointMark(dirs[1]!, { fileId: 2, offset: 8192 });
      expect(await storage.readCheckpointMark()).to.deep.equal({ fileId: 3, offset: 4096 });
      await writeCheckpointMark(dirs[2]!, { fileId: 3, offset: 8192 });
      expect(await storage.readCheckpointMark()).to.deep.equal({ fileId: 3, offset: 8192 });
    } finally {
      await storage.close();
    }
  });
});
