import { expect } from 'chai';
import { SecurityPolicy } from '../../src/bookie/connection-security.js';
import { rolesFromOu } from '../../src/protocol/auth-plugins.js';
import { certificateValidityProblem } from '../../src/util/certificate-validity.js';
import { makeTestCerts, type TestCerts } from '../support/test-certs.js';

describe('bookie connection security (policy)', () => {
  let certs: TestCerts;
  before(() => { certs = makeTestCerts(); });
  after(() => { certs.remove(); });

  it('reads roles from a subject OU as BookKeeper does', () => {
    expect(rolesFromOu('0:writer, admin;1:cluster-a')).to.deep.equal(['writer', 'admin']);
    expect(rolesFromOu(['1:c', '0:reader'])).to.deep.equal(['reader']);
    expect(rolesFromOu('writer')).to.deep.equal([]);
    expect(rolesFromOu(undefined)).to.deep.equal([]);
  });

  it('refuses a plaintext connection when TLS is required or roles are checked, serves it otherwise', () => {
    const leaf = certs.leaf('b');
    const base = { cert: leaf.cert, key: leaf.key, ca: certs.ca.cert };
    expect(new SecurityPolicy({ ...base }, undefined).session().authorized).to.equal(true);
    expect(new SecurityPolicy({ ...base, required: true }, undefined).session().authorized).to.equal(false);
    const roles = new SecurityPolicy({ ...base, allowedRoles: ['writer'] }, undefined).session();
    expect([roles.authorized, roles.refusal]).to.deep.equal([false, 'this bookie requires TLS (START_TLS)']);
  });

  it('answers AUTH: right token EOK, wrong token or plugin EUA with the reason', () => {
    const policy = new SecurityPolicy(undefined, { plugin: 'token', token: 't0k' });
    const auth = (name: string, token: string): [string, string] => {
      const r = policy.session().auth({ op: 'AUTH', txnId: 1n, authPluginName: name, payload: Buffer.from(token) });
      return [r.status, r.payload.toString()];
    };
    expect(auth('distributedlog-token', 't0k')).to.deep.equal(['EOK', '']);
    expect(auth('distributedlog-token', 'nope')).to.deep.equal(['EUA', 'wrong auth token']);
    expect(auth('AuthDisabledPlugin', '')[0]).to.equal('EUA');
  });

  it('tells an expired or not yet valid certificate from a current one', () => {
    const leaf = certs.leaf('dated');
    expect(certificateValidityProblem(leaf.cert)).to.equal(undefined);
    expect(certificateValidityProblem(leaf.cert, new Date('2000-01-01T00:00:00Z'))).to.match(/^the certificate \(CN=dated\) is not valid before 20\d\d-/);
    expect(certificateValidityProblem(leaf.cert, new Date(Date.now() + 10 * 86_400_000))).to.match(/^the certificate \(CN=dated\) expired on /);
    expect(certificateValidityProblem(certs.expiredLeaf('old').cert)).to.equal('the certificate (CN=old) expired on 2020-01-02T00:00:00.000Z');
    // not a certificate: left to the TLS context, which names the problem itself
    expect(certificateValidityProblem('not a pem')).to.equal(undefined);
  });

  it('refuses unusable options before anything starts', () => {
    const leaf = certs.leaf('c');
    expect(() => new SecurityPolicy({ cert: leaf.cert, key: certs.otherCa.key }, undefined)).to.throw(/bookie TLS: unusable certificate or key/);
    expect(() => new SecurityPolicy({ cert: leaf.cert, key: leaf.key, allowedRoles: ['x'] }, undefined)).to.throw(/allowedRoles needs tls.ca/);
    expect(() => new SecurityPolicy(undefined, { plugin: 'sasl' as 'token', token: 'x' })).to.throw("unknown auth plugin 'sasl' (known: token)");
    expect(() => new SecurityPolicy(undefined, { plugin: 'token', token: '' })).to.throw('the auth token must be a non-empty string');
  });
});
