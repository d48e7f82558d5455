// GET /api/consent/signin?tenant=&code= (invitation link: redirects to Entra) and GET /api/consent/signin/callback.
import { SIGN_IN_CALLBACK_ROUTE, SIGN_IN_START_ROUTE } from '../shared/consent/redirect-uris';
import { signInCallbackHandler, signInStartHandler } from '../shared/consent/consent-endpoints';
import { defineHttpFunction } from '../shared/runtime/function-registry';

defineHttpFunction('consent-signin-start', { route: SIGN_IN_START_ROUTE, methods: ['GET'], authLevel: 'anonymous', handler: signInStartHandler() });
defineHttpFunction('consent-signin-callback', { route: SIGN_IN_CALLBACK_ROUTE, methods: ['GET'], authLevel: 'anonymous', handler: signInCallbackHandler() });
