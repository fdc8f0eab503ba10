// Whether a PEM certificate is valid now, read with node:crypto's X509Certificate: a server that
// starts with an expired certificate would only fail every handshake later, naming nothing.

import { X509Certificate } from 'node:crypto';

/**
 * Why the first certificate of `pem` is not valid at `now` ("expired on ...", "not valid before
 * ..."), or undefined when it is, or when it cannot be parsed (the TLS context reports that).
 */
export function certificateValidityProblem(pem: string | Buffer, now = new Date()): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  const subject = cert.subject.replace(/\n/g, ', ');
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now > to) return `the certificate (${subject}) expired on ${to.toISOString()}`;
  if (now < from) return `the certificate (${subject}) is not valid before ${from.toISOString()}`;
  return undefined;
}
