import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { validateLogName } from '../../src/log/metadata/log-names.js';

describe('validateLogName', () => {
  it('strips one leading slash and allows hierarchical names', () => {
    expect(validateLogName('events')).to.equal('events');
    expect(validateLogName('/events')).to.equal('events');
    expect(validateLogName('/a/b/c')).to.equal('a/b/c');
    expect(validateLogName('a.b/c-d_e/.f')).to.equal('a.b/c-d_e/.f');
    expect(validateLogName('日志')).to.equal('日志');
  });

  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['/', /empty/],
    ['.allocation_pool', /reserved/],
    ['/.subnamespaces', /reserved/],
    ['<default>', /reserved/],
    ['a<b', /'<' at index 1/],
    ['a>b', /'>' at index 1/],
    ['a b', /a space at index 1/],
    ['a\u0000b', /null character/],
    ['a\u0007', /U\+0007/],
    ['a\u0085', /U\+0085/],
    ['a\uE000', /U\+E000/],
    ['a//b', /empty component/],
    ['//a', /empty component/],
    ['a/', /ends with '\/'/],
    ['a/./b', /'\.' component/],
    ['a/..', /'\.\.' component/],
  ];
  for (const [name, why] of cases) {
    it(`rejects ${JSON.stringify(name)}`, () => {
      expect(() => validateLogName(name)).to.throw(InvalidArgumentError, why);
    });
  }
});
