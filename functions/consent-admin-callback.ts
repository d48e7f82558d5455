// GET /api/consent/admin/callback: where Entra returns the customer's admin after the admin-consent prompt.
import { ADMIN_CONSENT_CALLBACK_ROUTE } from '../shared/consent/redirect-uris';
import { adminConsentCallbackHandler } from '../shared/consent/consent-endpoints';
import { defineHttpFunction } from '../shared/runtime/function-registry';

defineHttpFunction('consent-admin-callback', { route: ADMIN_CONSENT_CALLBACK_ROUTE, methods: ['GET'], authLevel: 'anonymous', handler: adminConsentCallbackHandler() });
