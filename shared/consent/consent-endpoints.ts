/**
 * The anonymous browser endpoints: admin-consent callback, sign-in start and sign-in callback.
 * Anonymous by necessity (Entra and the user's browser call them); everything they accept is
 * checked against signed, expiring, single-use values. Failures show a small HTML page; the
 * details go to the log (redacted), never into the page.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { invocationLogger } from '../logging';
import type { Logger } from '../logging';
import { completeAdminConsent } from './admin-consent';
import { consentDependencies } from './consent-composition';
import type { ConsentDependencies } from './consent-dependencies';
import { browserStepResponse, resultPageResponse } from './result-page';
import type { ResultPage } from './result-page';
import { completeSignIn, startSignIn } from './sign-in';

const FAILED: ResultPage = { status: 500, code: 'InternalError', title: 'Something went wrong', message: 'The request could not be completed. Please try again in a few minutes.' };

function pageHandler(name: string, run: (deps: ConsentDependencies, query: URLSearchParams, log: Logger) => Promise<HttpResponseInit>, dependencies: () => ConsentDependencies): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const log = invocationLogger(context);
    try {
      const response = await run(dependencies(), request.query, log);
      log.info(`${name} answered`, { status: response.status });
      return response;
    } catch (error: unknown) {
      log.error(`${name} failed`, { error });
      return resultPageResponse(FAILED);
    }
  };
}

export function adminConsentCallbackHandler(dependencies: () => ConsentDependencies = consentDependencies): HttpHandler {
  return pageHandler('admin consent callback', async (deps, query) => browserStepResponse(await completeAdminConsent(deps, query)), dependencies);
}

export function signInStartHandler(dependencies: () => ConsentDependencies = consentDependencies): HttpHandler {
  return pageHandler('sign-in start', async (deps, query) => browserStepResponse(await startSignIn(deps, query)), dependencies);
}

export function signInCallbackHandler(dependencies: () => ConsentDependencies = consentDependencies): HttpHandler {
  return pageHandler('sign-in callback', async (deps, query, log) => resultPageResponse(await completeSignIn(deps, query, log)), dependencies);
}
