/**
 * The keytab codec and password-to-key derivation (shared/auth/kerberos/keytab.ts) without a KDC:
 * RFC 3962's published AES string-to-key vectors, a round trip, and hostile input. The KDC
 * accepting derived keys is shown by test/e2e/kerberos-sync.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aesStringToKey,
  decodeKeytab,
  defaultSalt,
  encodeKeytab,
  ENCTYPE_AES128_CTS_HMAC_SHA1_96,
  ENCTYPE_AES256_CTS_HMAC_SHA1_96,
  KeytabFormatError,
  keytabEntriesFromPassword,
  parsePrincipal,
} from '../../shared/auth/kerberos/keytab';
import { gssServiceName, kerberosClientPrincipal, kerberosFailure } from '../../shared/auth/kerberos/negotiate-client';

describe('AES string-to-key (RFC 3962 appendix B)', () => {
  const salt = 'ATHENA.MIT.EDUraeburn';
  it('iteration count 1', () => {
    assert.equal(aesStringToKey('password', salt, ENCTYPE_AES128_CTS_HMAC_SHA1_96, 1).toString('hex'), '42263c6e89f4fc28b8df68ee09799f15');
    assert.equal(aesStringToKey('password', salt, ENCTYPE_AES256_CTS_HMAC_SHA1_96, 1).toString('hex'), 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161');
  });
  it('iteration count 1200', () => {
    assert.equal(aesStringToKey('password', salt, ENCTYPE_AES128_CTS_HMAC_SHA1_96, 1200).toString('hex'), '4c01cd46d632d01e6dbe230a01ed642a');
    assert.equal(aesStringToKey('password', salt, ENCTYPE_AES256_CTS_HMAC_SHA1_96, 1200).toString('hex'), '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a');
  });
  it('the default salt is the realm then the name components', () => {
    assert.equal(defaultSalt(parsePrincipal('svc-connector@CONTOSO.COM')), 'CONTOSO.COMsvc-connector');
    assert.equal(defaultSalt(parsePrincipal('HTTP/mail.contoso.com@CONTOSO.COM')), 'CONTOSO.COMHTTPmail.contoso.com');
  });
});

describe('keytab files', () => {
  it('round-trips the entries derived from a password', () => {
    const principal = parsePrincipal('svc-connector@CONTOSO.COM');
    const entries = keytabEntriesFromPassword(principal, 'Connector-Svc-Pass1');
    const decoded = decodeKeytab(encodeKeytab(entries));
    assert.deepEqual(decoded.map((e) => [e.principal.components.join('/'), e.principal.realm, e.enctype, e.key.length]), [
      ['svc-connector', 'CONTOSO.COM', 18, 32],
      ['svc-connector', 'CONTOSO.COM', 17, 16],
    ]);
    assert.deepEqual(decoded[0]!.key, entries[0]!.key);
  });

  it('refuses what is not a keytab, truncated or empty, without echoing the input', () => {
    const valid = encodeKeytab(keytabEntriesFromPassword(parsePrincipal('a@B.C'), 'x'));
    for (const [what, data] of [
      ['text', Buffer.from('SECRET-LOOKING-TEXT')],
      ['empty', Buffer.alloc(0)],
      ['header only', Buffer.from([5, 2])],
      ['truncated', valid.subarray(0, valid.length - 7)],
      ['huge size field', Buffer.concat([Buffer.from([5, 2]), Buffer.from([0x7f, 0xff, 0xff, 0xff])])],
    ] as const) {
      assert.throws(() => decodeKeytab(data), (error: unknown) => error instanceof KeytabFormatError && !error.message.includes('SECRET'), what);
    }
  });
});

describe('names', () => {
  it('a UPN, DOMAIN\\user or bare name becomes the user name in the realm', () => {
    assert.equal(kerberosClientPrincipal('svc-connector@contoso.com', 'CONTOSO.COM'), 'svc-connector@CONTOSO.COM');
    assert.equal(kerberosClientPrincipal('CONTOSO\\svc-connector', 'CONTOSO.COM'), 'svc-connector@CONTOSO.COM');
    assert.equal(kerberosClientPrincipal('svc-connector', 'CONTOSO.COM'), 'svc-connector@CONTOSO.COM');
    assert.equal(gssServiceName('HTTP/mail.contoso.com'), 'HTTP@mail.contoso.com');
  });

  it('GSSAPI messages map to codes an administrator can act on', () => {
    const settings = { realm: 'CONTOSO.COM', kdcs: ['dc01:88'], userPrincipal: 'svc', servicePrincipal: 'HTTP/mail.contoso.com' };
    const cases: [string, string][] = [
      ['No credentials were supplied: Decrypt integrity check failed', 'InvalidCredentials'],
      ['Preauthentication failed', 'InvalidCredentials'],
      ['Server HTTP/x@CONTOSO.COM not found in Kerberos database', 'UnknownServicePrincipal'],
      ['Client svc@CONTOSO.COM not found in Kerberos database', 'UnknownPrincipal'],
      ["Cannot contact any KDC for realm 'CONTOSO.COM'", 'KdcUnreachable'],
      ['Clock skew too great', 'ClockSkew'],
      ['libgssapi_krb5.so.2: cannot open shared object file', 'KerberosUnavailable'],
    ];
    for (const [text, code] of cases) assert.equal(kerberosFailure(new Error(text), settings).code, code, text);
    assert.equal(kerberosFailure(new Error("Cannot contact any KDC for realm 'CONTOSO.COM'"), settings).transient, true);
  });
});
