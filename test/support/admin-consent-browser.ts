/**
 * Walks an admin-consent link the way the customer's administrator's browser does against the
 * local identity provider (dev auto sign-in): Entra's consent prompt, our callback, then the
 * OpenID sign-in that proves which organisation consented, and our callback again.
 */
import assert from 'node:assert/strict';
import { resultCode } from './eventually';

export interface ConsentOutcome {
  /** Our callback URL after the consent prompt (the first leg). */
  readonly callback: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly html: string;
}

function withDevSignIn(url: URL, user: { upn: string; password: string }, decision: 'accept' | 'decline'): URL {
  url.searchParams.set('login_hint', user.upn);
  url.searchParams.set('dev_password', user.password);
  url.searchParams.set('dev_consent', decision);
  return url;
}

export async function answerAdminConsent(
  link: string,
  admin: { upn: string; password: string },
  options: { readonly decision?: 'accept' | 'decline'; readonly tweakSignIn?: (signIn: URL) => void } = {},
): Promise<ConsentOutcome> {
  const answer = await fetch(withDevSignIn(new URL(link), admin, options.decision ?? 'accept'), { redirect: 'manual' });
  assert.equal(answer.status, 302, await answer.text());
  const callback = answer.headers.get('location')!;
  assert.match(callback, /\/api\/consent\/admin\/callback\?/);
  const first = await fetch(callback, { redirect: 'manual' });
  if (first.status !== 302) {
    const html = await first.text();
    return { callback, status: first.status, code: resultCode(html), html };
  }
  const signIn = withDevSignIn(new URL(first.headers.get('location')!), admin, 'accept');
  assert.equal(signIn.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(signIn.searchParams.get('nonce'), 'the proof sign-in carries a nonce');
  options.tweakSignIn?.(signIn);
  const signedIn = await fetch(signIn, { redirect: 'manual' });
  assert.equal(signedIn.status, 302, await signedIn.text());
  const verified = signedIn.headers.get('location')!;
  assert.match(verified, /\/api\/consent\/admin\/callback\?/);
  const page = await fetch(verified);
  const html = await page.text();
  return { callback, status: page.status, code: resultCode(html), html };
}
