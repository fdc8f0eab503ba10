import { expect } from 'chai';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { thrown } from '../support/thrown.js';

function frame(payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

function payloads(): Buffer[] {
  // Empty, tiny, and one larger than everything else so it always spans chunks.
  return [Buffer.alloc(0), Buffer.from('a'), Buffer.from('hello world'), Buffer.alloc(300, 7), Buffer.from([0, 1, 2])];
}

function decodeChunks(chunks: Buffer[], decoder = new FrameDecoder()): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) decoder.push(chunk, (f) => frames.push(f));
  return frames;
}

describe('FrameDecoder', () => {
  it('emits several frames from one chunk as views of it', () => {
    const stream = Buffer.concat(payloads().map(frame));
    const frames = decodeChunks([stream]);
    expect(frames).to.deep.equal(payloads());
    for (const f of frames) expect(f.buffer).to.equal(stream.buffer);
  });

  it('reassembles the stream split at every byte boundary', () => {
    const stream = Buffer.concat(payloads().map(frame));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = decodeChunks([stream.subarray(0, cut), stream.subarray(cut)], decoder);
      expect(frames, `cut at ${cut}`).to.deep.equal(payloads());
      expect(decoder.bufferedBytes).to.equal(0);
    }
  });

  it('reassembles the stream fed one byte at a time', () => {
    const stream = Buffer.concat(payloads().map(frame));
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(decodeChunks(chunks)).to.deep.equal(payloads());
  });

  it('keeps emitted frames intact while it goes on decoding', () => {
    const stream = Buffer.concat([...payloads(), ...payloads()].map(frame));
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    const atEmission: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) {
      decoder.push(stream.subarray(i, i + 7), (f) => {
        frames.push(f);
        atEmission.push(Buffer.from(f));
      });
    }
    expect(frames).to.deep.equal(atEmission);
    expect(frames).to.deep.equal([...payloads(), ...payloads()]);
  });

  it('reports the bytes of an unfinished frame', () => {
    const decoder = new FrameDecoder();
    const stream = frame(Buffer.from('abcdef'));
    decodeChunks([stream.subarray(0, 2)], decoder);
    expect(decoder.bufferedBytes).to.equal(2);
    decodeChunks([stream.subarray(2, 7)], decoder);
    expect(decoder.bufferedBytes).to.equal(7);
    decodeChunks([stream.subarray(7)], decoder);
    expect(decoder.bufferedBytes).to.equal(0);
  });

  it('rejects a frame longer than the maximum, counting the prefix as Netty does', () => {
    const max = 64;
    const ok = new FrameDecoder({ maxFrameSize: max });
    expect(decodeChunks([frame(Buffer.alloc(max - 4))], ok)).to.deep.equal([Buffer.alloc(max - 4)]);

    const decoder = new FrameDecoder({ maxFrameSize: max });
    const header = Buffer.alloc(4);
    header.writeInt32BE(max - 3, 0);
    expect(thrown(() => decodeChunks([header], decoder))).to.deep.include({ name: 'WireError', code: 'FRAME_TOO_LARGE' });
    // The stream is unrecoverable: later bytes fail the same way.
    expect(thrown(() => decodeChunks([Buffer.alloc(1)], decoder))).to.deep.include({ code: 'FRAME_TOO_LARGE' });
  });

  it('applies the 5 MiB default to a header split across chunks', () => {
    const header = Buffer.alloc(4);
    header.writeInt32BE(DEFAULT_MAX_FRAME_SIZE, 0);
    const decoder = new FrameDecoder();
    decodeChunks([header.subarray(0, 3)], decoder);
    expect(thrown(() => decodeChunks([header.subarray(3)], decoder))).to.deep.include({ code: 'FRAME_TOO_LARGE' });
  });

  it('rejects a negative length as malformed', () => {
    expect(thrown(() => decodeChunks([Buffer.from([0xff, 0xff, 0xff, 0xfe])]))).to.deep.include({
      name: 'WireError',
      code: 'MALFORMED_FRAME',
    });
  });
});
