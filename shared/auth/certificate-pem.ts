/**
 * A certificate credential is stored as one PEM bundle: the certificate and its unencrypted
 * private key. The admin API checks a bundle with these blocks and the token code signs with
 * them, so both read them the same way.
 */
export interface PemBundleBlocks {
  /** The first -----BEGIN CERTIFICATE----- block, markers included. */
  readonly certificate?: string;
  /** The first unencrypted PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key block, markers included. */
  readonly privateKey?: string;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/;

export function pemBundleBlocks(pem: string): PemBundleBlocks {
  const certificate = CERTIFICATE_BLOCK.exec(pem)?.[0];
  const privateKey = PRIVATE_KEY_BLOCK.exec(pem)?.[0];
  return { ...(certificate ? { certificate } : {}), ...(privateKey ? { privateKey } : {}) };
}
