// Certificates for TLS tests, made with the system's openssl: a CA, leaf certificates it signs
// (subject OU carries BookKeeper-style roles, `0:role`), leaves whose validity ended long ago,
// and a second, unrelated CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** A leaf signed by `ca`, valid only on 2020-01-01 (`openssl ca`: OpenSSL 3.0's x509 cannot set past dates). */
  expiredLeaf(name: string, ou?: string): Pem & { readonly certFile: string; readonly keyFile: string };
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

/** A key and a certificate request for CN=name (OU=ou). */
function request(dir: string, name: string, ou: string | undefined): { keyFile: string; csr: string; certFile: string } {
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr,
    '-subj', `/CN=${name}${ou === undefined ? '' : `/OU=${ou}`}`]);
  return { keyFile, csr, certFile: path.join(dir, `${name}.pem`) };
}

/** The minimal `openssl ca` set-up: a config, an empty database and a serial file. */
function caConfig(dir: string): string {
  const config = path.join(dir, 'ca.cnf');
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(config, [
    '[ca]', 'default_ca = test_ca', '[test_ca]', `database = ${path.join(dir, 'index.txt')}`, `new_certs_dir = ${dir}`,
    `serial = ${path.join(dir, 'serial')}`, 'default_md = sha256', 'policy = any', 'unique_subject = no',
    '[any]', 'commonName = supplied', 'organizationalUnitName = optional', '',
  ].join('\n'));
  return config;
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-certs-'));
  const ca = selfSigned(dir, 'ca');
  const otherCa = selfSigned(dir, 'other-ca');
  let config: string | undefined;
  return {
    dir, ca, otherCa,
    leaf(name, ou) {
      const { keyFile, csr, certFile } = request(dir, name, ou);
      openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial',
        '-out', certFile, '-days', '2']);
      return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
    },
    expiredLeaf(name, ou) {
      const { keyFile, csr, certFile } = request(dir, name, ou);
      config ??= caConfig(dir);
      openssl(['ca', '-batch', '-notext', '-config', config, '-cert', ca.certFile, '-keyfile', path.join(dir, 'ca.key'), '-in', csr,
        '-out', certFile, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
      return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
    },
    remove() { rmSync(dir, { recursive: true, force: true }); },
  };
}
