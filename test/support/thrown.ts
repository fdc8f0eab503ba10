// What a call threw or a promise rejected with, for chai assertions on the error itself
// (expect(thrown(fn)).to.deep.include({ code: 'X' })). Fails the test when nothing was thrown.
import { expect } from 'chai';

export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return expect.fail('expected the call to throw');
}

export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return expect.fail('expected the promise to reject');
}
