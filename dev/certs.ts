import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generate } from 'selfsigned';

export interface DevCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * The local stack's TLS certificate (localhost, 127.0.0.1, ::1), made on first use and kept
 * in `dir`. Node processes trust it through NODE_EXTRA_CA_CERTS, which Node reads only at
 * start: so whoever starts a process that talks to the local HTTPS servers sets it first.
 */
export async function ensureDevCertificate(dir: string): Promise<DevCertificate> {
  const certPath = join(dir, 'dev-cert.pem');
  const keyPath = join(dir, 'dev-key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true });
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
      ],
    });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

/** Where the project keeps local state (git-ignored). */
export function devStateDir(projectRoot: string): string {
  return join(projectRoot, '.dev');
}

/**
 * A CA bundle for NODE_EXTRA_CA_CERTS holding the dev certificate plus whatever bundle the
 * environment already named there (some machines point it at the system CAs), so trusting
 * the local stack never drops a CA the machine relied on.
 */
export function devTrustBundle(certificate: DevCertificate, inherited: string | undefined = process.env.NODE_EXTRA_CA_CERTS): string {
  const bundlePath = join(dirname(certificate.certPath), 'trust-bundle.pem');
  const parts = [certificate.cert.trim()];
  if (inherited && inherited !== bundlePath && inherited !== certificate.certPath && existsSync(inherited)) {
    parts.push(readFileSync(inherited, 'utf8').trim());
  }
  const bundle = parts.join('\n') + '\n';
  // Several runs may start at once: never let one read a half-written bundle.
  if (!existsSync(bundlePath) || readFileSync(bundlePath, 'utf8') !== bundle) {
    const temp = `${bundlePath}.${process.pid}.tmp`;
    writeFileSync(temp, bundle);
    renameSync(temp, bundlePath);
  }
  return bundlePath;
}
