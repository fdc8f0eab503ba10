import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { FrameWriter } from '../../src/protocol/frame-writer.js';
import { rejected, thrown } from '../support/thrown.js';

interface Loopback {
  client: net.Socket;
  server: net.Socket;
  /** Socket-level writes the client made: one per _write or _writev call. */
  writes: { chunks: number }[];
  close(): Promise<void>;
}

async function loopback(): Promise<Loopback> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(client, 'connect');
  const [server] = await accepted;
  const writes: { chunks: number }[] = [];
  // Count what reaches the stream implementation: each call is one syscall batch.
  const write = client._write.bind(client);
  const writev = client._writev?.bind(client);
  client._write = (chunk, encoding, callback) => {
    writes.push({ chunks: 1 });
    write(chunk, encoding, callback);
  };
  client._writev = (chunks, callback) => {
    writes.push({ chunks: chunks.length });
    writev?.(chunks, callback);
  };
  return {
    client,
    server,
    writes,
    async close() {
      client.destroy();
      server.destroy();
      listener.close();
      await once(listener, 'close');
    },
  };
}

function frame(size: number, fill: number): Buffer {
  const out = Buffer.alloc(4 + size, fill);
  out.writeInt32BE(size, 0);
  return out;
}

/** Resolves with the payloads once `count` frames have arrived. */
function receive(socket: net.Socket, count: number): Promise<Buffer[]> {
  const decoder = new FrameDecoder({ maxFrameSize: 64 * 1024 * 1024 });
  const frames: Buffer[] = [];
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (f) => frames.push(f));
      if (frames.length >= count) resolve(frames);
    });
  });
}

describe('FrameWriter', () => {
  let link: Loopback;

  beforeEach(async () => {
    link = await loopback();
  });

  afterEach(async () => {
    await link.close();
  });

  it('sends the small frames of one tick in one socket write', async () => {
    const writer = new FrameWriter(link.client);
    const frames = Array.from({ length: 100 }, (_, i) => frame(100, i));
    const received = receive(link.server, frames.length);
    for (const f of frames) expect(writer.write(f)).to.equal(true);
    expect(link.writes.length, 'nothing is written before the tick ends').to.equal(0);
    expect(await received).to.deep.equal(frames.map((f) => f.subarray(4)));
    expect(link.writes).to.deep.equal([{ chunks: 1 }]);
  });

  it('passes large frames by reference within a single writev', async () => {
    const writer = new FrameWriter(link.client);
    const frames = [frame(10, 1), frame(10, 2), frame(20 * 1024, 3), frame(10, 4)];
    const received = receive(link.server, frames.length);
    for (const f of frames) writer.write(f);
    expect(await received).to.deep.equal(frames.map((f) => f.subarray(4)));
    // [two small frames copied together, the large frame, the last small frame]
    expect(link.writes).to.deep.equal([{ chunks: 3 }]);
  });

  it('sends a frame given in parts, its large shared body by reference', async () => {
    const writer = new FrameWriter(link.client);
    const body = Buffer.alloc(20 * 1024, 7);
    const head = (fill: number): Buffer => {
      const h = Buffer.alloc(4 + 6, fill);
      h.writeInt32BE(6 + body.length + 2, 0);
      return h;
    };
    const tail = Buffer.from([8, 9]);
    const received = receive(link.server, 2);
    writer.write(head(1), body, tail);
    writer.write(head(2), body, tail);
    const frames = await received;
    for (const [i, f] of frames.entries()) {
      expect(f.subarray(0, 6)).to.deep.equal(Buffer.alloc(6, i + 1));
      expect(f.subarray(6, 6 + body.length)).to.deep.equal(body);
      expect(f.subarray(6 + body.length)).to.deep.equal(tail);
    }
    // [head 1, body, tail 1 + head 2 copied together, body, tail 2]
    expect(link.writes).to.deep.equal([{ chunks: 5 }]);
  });

  it('flushes inline each time 32 KiB have been queued', async () => {
    const writer = new FrameWriter(link.client);
    const frames = Array.from({ length: 100 }, (_, i) => frame(1020, i));
    const received = receive(link.server, frames.length);
    for (const f of frames) writer.write(f);
    expect(link.writes.length, '96 frames went out inline, in three writes').to.equal(3);
    expect(await received).to.deep.equal(frames.map((f) => f.subarray(4)));
    expect(link.writes.length).to.equal(4);
  });

  it('stops writing under back-pressure and resumes on drain', async () => {
    const writer = new FrameWriter(link.client);
    link.server.pause();
    const big = frame(256 * 1024, 9);
    let sent = 0;
    while (writer.write(big)) {
      sent++;
      expect(sent < 2000, 'the socket never applied back-pressure').to.equal(true);
    }
    sent++;
    expect(writer.writable).to.equal(false);
    let resolved = false;
    const writable = writer.whenWritable().then(() => {
      resolved = true;
    });

    // While blocked, frames wait in the writer instead of piling onto the socket.
    const socketBacklog = link.client.writableLength;
    for (let i = 0; i < 3; i++) expect(writer.write(frame(100, i))).to.equal(false);
    sent += 3;
    await new Promise((r) => setImmediate(r));
    expect(link.client.writableLength).to.equal(socketBacklog);
    expect(writer.queuedBytes).to.equal(3 * 104);
    expect(resolved).to.equal(false);

    const received = receive(link.server, sent);
    link.server.resume();
    await writable;
    expect(writer.writable).to.equal(true);
    expect((await received).length).to.equal(sent);
  });

  it('fails writers and waiters once the socket closes', async () => {
    const writer = new FrameWriter(link.client);
    link.server.pause();
    const big = frame(256 * 1024, 1);
    while (writer.write(big)) {
      // fill the socket until it pushes back
    }
    const waiting = writer.whenWritable();
    link.client.destroy();
    expect(writer.writable).to.equal(false);
    expect(thrown(() => writer.write(big))).to.deep.include({ code: 'CONNECTION_CLOSED' });
    expect(await rejected(waiting)).to.deep.include({ name: 'WireError', code: 'CONNECTION_CLOSED', retriable: true });
    expect(writer.writable).to.equal(false);
    expect(thrown(() => writer.write(big))).to.deep.include({ code: 'CONNECTION_CLOSED' });
    expect(await rejected(writer.whenWritable())).to.deep.include({ code: 'CONNECTION_CLOSED' });
  });
});
