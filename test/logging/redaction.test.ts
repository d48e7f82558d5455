import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { createLogger, SecretString } from '../../shared/logging';

function capture(): { lines: string[]; sink: (level: string, line: string) => void } {
  const lines: string[] = [];
  return { lines, sink: (_level, line) => lines.push(line) };
}

test('a known secret never appears in captured logs, whatever path it takes', () => {
  const secret = 'Sup3r-S3cret-Value-9f8e7d';
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const { lines, sink } = capture();
  const log = createLogger({ tenantId: 't1' }, sink);
  const wrapped = new SecretString(secret);
  log.info(`connecting with ${wrapped}`, { password: secret, nested: { clientSecret: secret, list: [wrapped] } });
  log.warn('token refresh failed', { error: new Error(`invalid_grant for Bearer ${jwt}`), authorization: `Bearer ${jwt}` });
  log.error(`callback https://app/cb?code=${secret}&state=abc`);
  log.with({ mailbox: 'alice@contoso.com' }).info('inspect', { value: inspect(wrapped) });
  const all = lines.join('\n');
  assert.equal(lines.length, 4);
  assert.doesNotMatch(all, new RegExp(secret));
  assert.doesNotMatch(all, /eyJhbGciOiJSUzI1NiJ9/);
  assert.match(lines[0], /"tenantId":"t1"/);
  assert.match(lines[3], /"mailbox":"alice@contoso.com"/);
  assert.equal(JSON.parse(lines[1]).error.message, 'invalid_grant for Bearer [redacted]');
});

test('a SecretString still hands its value to the code that needs it', () => {
  assert.equal(new SecretString('abc').reveal(), 'abc');
  assert.equal(JSON.stringify({ s: new SecretString('abc') }), '{"s":"[redacted]"}');
});

test('error codes stay readable while authorization and invitation codes are redacted', () => {
  const { lines, sink } = capture();
  const log = createLogger({}, sink);
  log.warn('delivery failed', { code: 'SigningKeyMissing' });
  log.warn('callback', { code: '1.AXEAk2x9-dev.code_7f3a' });
  log.warn('invitation', { code: 'KSSS-LYSA-YJBB-TRSE' });
  log.warn('numeric', { code: '404' });
  assert.equal(JSON.parse(lines[0]).code, 'SigningKeyMissing');
  assert.equal(JSON.parse(lines[1]).code, '[redacted]');
  assert.equal(JSON.parse(lines[2]).code, '[redacted]');
  assert.equal(JSON.parse(lines[3]).code, '[redacted]');
});
