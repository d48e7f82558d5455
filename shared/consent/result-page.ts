/** The small HTML pages people see at the end of a consent or sign-in redirect. */
import type { HttpResponseInit } from '@azure/functions';

export interface ResultPage {
  readonly status: number;
  readonly title: string;
  readonly message: string;
  /** A stable code for support and tests, e.g. 'SignInCompleted' or 'StateReplayed'. */
  readonly code: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function resultPageResponse(page: ResultPage): HttpResponseInit {
  const ok = page.status < 400;
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem;color:${ok ? '#107c10' : '#a4262c'}}code{color:#555}</style>
</head><body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p><p><code data-result-code="${escapeHtml(page.code)}">${escapeHtml(page.code)}</code></p></body></html>`;
  return {
    status: page.status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    },
    body,
  };
}

export function redirectResponse(location: string): HttpResponseInit {
  return { status: 302, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } };
}

/** What a browser endpoint answers: send the browser on to Entra, or show a result page. */
export type BrowserStep = { readonly kind: 'redirect'; readonly location: string } | { readonly kind: 'page'; readonly page: ResultPage };

export function browserStepResponse(step: BrowserStep): HttpResponseInit {
  return step.kind === 'redirect' ? redirectResponse(step.location) : resultPageResponse(step.page);
}
