// Certificates for TLS tests, made with the system's openssl: a CA, leaf certificates it signs
// (subject OU carries BookKeeper-style roles, `0:role`), and a second, unrelated CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCerts {
  readonly dir: string;
  readonly ca: Pem & { readonly certFile: string };
  readonly otherCa: Pem;
  /** A leaf signed by `ca`; files for the CLI. */
  leaf(name: string, ou?: string): Pem & { readonly certFile: string; readonly keyFile: string };
  remove(): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function selfSigned(dir: string, name: string): Pem & { certFile: string } {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`, '-days', '2']);
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile };
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-certs-'));
  const ca = selfSigned(dir, 'ca');
  const otherCa = selfSigned(dir, 'other-ca');
  return {
    dir, ca, otherCa,
    leaf(name, ou) {
      const keyFile = path.join(dir, `${name}.key`);
      const csr = path.join(dir, `${name}.csr`);
      const certFile = path.join(dir, `${name}.pem`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr,
        '-subj', `/CN=${name}${ou === undefined ? '' : `/OU=${ou}`}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial',
        '-out', certFile, '-days', '2']);
      return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
    },
    remove() { rmSync(dir, { recursive: true, force: true }); },
  };
}
