import { expect } from 'chai';
import { DLogError, InvalidArgumentError, MetadataError } from '../../src/errors.js';
import type { DLogErrorCode } from '../../src/index.js';

describe('DLogError', () => {
  it('carries code, retriable and cause', () => {
    const cause = new Error('socket reset');
    const err = new MetadataError('CONNECTION_LOSS', 'lost', { cause, path: '/a' });
    expect(err.code).to.equal('CONNECTION_LOSS');
    expect(err.retriable).to.equal(true);
    expect(err.cause).to.equal(cause);
    expect(err.path).to.equal('/a');
    expect(err.name).to.equal('MetadataError');
    expect(new MetadataError('NODE_EXISTS', 'x').retriable).to.equal(false);
  });

  it('matches instanceof across subclasses but not sideways', () => {
    const meta = new MetadataError('NO_NODE', 'x');
    expect(meta).to.be.instanceOf(DLogError);
    expect(meta).to.be.instanceOf(MetadataError);
    expect(meta).to.not.be.instanceOf(InvalidArgumentError);
    expect(new Error('plain')).to.not.be.instanceOf(DLogError);
  });

  it('recognises an error made by another copy of the package', () => {
    // what a second installed copy would construct: its own class, the same global brand
    const foreign = Object.assign(new Error('from elsewhere'), { code: 'NO_NODE' });
    Object.defineProperty(foreign, Symbol.for('distributedlog.DLogError'), { value: true });
    expect(foreign).to.be.instanceOf(DLogError);
  });

  it('types code with the union of every layer\'s codes, so a misspelt code does not compile', () => {
    // one code of each layer: this list compiles only while each is in DLogErrorCode
    const codes: DLogErrorCode[] = ['INVALID_ARGUMENT', 'NO_NODE', 'LOCK_HELD', 'NOT_ENOUGH_BOOKIES', 'BOOKIE_TIMEOUT', 'FRAME_TOO_LARGE', 'SANDBOX_FAILED'];
    const err: DLogError = new InvalidArgumentError('x');
    expect(codes).to.include(err.code);
    // @ts-expect-error -- 'LOG_NOT_FUOND' is no code: typecheck fails if this comparison compiles
    expect(err.code === 'LOG_NOT_FUOND').to.equal(false);
  });
});
