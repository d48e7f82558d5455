/**
 * Review fix: form-encoded token requests (what MSAL and @azure/identity send to Entra) quoted in
 * an error message kept their client secret, password or client assertion: only ?key= and &key=
 * were redacted, not a parameter at the start of the text or after a space.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from '../../shared/logging';
import { redactText } from '../../shared/logging/redaction';

describe('redaction of form-encoded secrets', () => {
  const cases = [
    'client_secret=s3cr3t-value&grant_type=client_credentials',
    'grant_type=password&username=svc&password=s3cr3t-value',
    'request body: client_assertion=s3cr3t-value&scope=x',
    'POST /token failed (body refresh_token=s3cr3t-value)',
  ];
  for (const text of cases) {
    test(`"${text.slice(0, 40)}..." loses its secret`, () => {
      assert.doesNotMatch(redactText(text), /s3cr3t-value/);
    });
  }

  test('an error logged with such a message shows the parameter name but not the value', () => {
    const lines: string[] = [];
    createLogger({}, (_level, line) => lines.push(line)).error('token request failed', { error: new Error('invalid_client: client_secret=s3cr3t-value&client_id=abc') });
    assert.doesNotMatch(lines.join('\n'), /s3cr3t-value/);
    assert.match(lines.join('\n'), /client_secret=\[redacted\]&client_id=abc/);
  });

  test('ordinary text and query parameters that are not secrets stay readable', () => {
    assert.equal(redactText('tenant=contoso&mailbox=bob@contoso.com'), 'tenant=contoso&mailbox=bob@contoso.com');
  });
});
