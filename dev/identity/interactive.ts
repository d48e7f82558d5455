import { randomBytes } from 'node:crypto';
import type { IdentityProviderContext } from './context';
import { nowInSeconds, type TenantSegment } from './directory';
import { EntraProtocolError, entraErrors } from './entra-errors';
import { escapeHtml, htmlResult, page, redirectResult, type HttpResult } from './http-kit';
import type { StoredApp, StoredUser } from './model';
import { parseScopeRequest, requestedDelegatedScopes, type ScopeRequest } from './scopes';
import { consentedScopes, qualifiedScope } from './token-endpoint';

type ResponseMode = 'query' | 'fragment' | 'form_post';

interface Interaction {
  readonly id: string;
  readonly kind: 'authorize' | 'adminconsent';
  readonly tenantPath: string;
  readonly segment: TenantSegment;
  readonly clientAppId: string;
  readonly redirectUri: string;
  readonly state?: string;
  readonly scope?: string;
  readonly nonce?: string;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: 'S256' | 'plain';
  readonly responseMode: ResponseMode;
  readonly forceConsent: boolean;
  readonly adminConsentVersion: 1 | 2;
  readonly loginHint?: string;
  readonly devConsent?: 'accept' | 'decline';
  readonly expiresAt: number;
  userObjectId?: string;
}

/** The request as the browser sent it. */
export interface InteractiveRequest {
  readonly segment: TenantSegment;
  readonly tenantPath: string;
  readonly params: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const INTERACTION_LIFETIME_IN_SECONDS = 15 * 60;

function header(headers: InteractiveRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errorPage(error: EntraProtocolError, status = 400): HttpResult {
  return htmlResult(status, page('Sign in failed', `<p class="error">AADSTS${error.aadstsCode}: ${escapeHtml(error.description)}</p><p>error: ${escapeHtml(error.error)}</p>`));
}

/**
 * /authorize, /adminconsent and their login and consent pages. A login can be done by a
 * person (HTML form) or by a test or curl: `login_hint` plus `dev_password` (query) or
 * the `X-Dev-Password` header signs in at once; `dev_consent=accept|decline` (or
 * `X-Dev-Consent`) answers the consent page. Sessions are not kept: every flow signs in.
 */
export class InteractiveFlows {
  readonly #interactions = new Map<string, Interaction>();

  constructor(private readonly ctx: IdentityProviderContext) {}

  authorize(request: InteractiveRequest): HttpResult {
    const p = request.params;
    const checked = this.#checkClientAndRedirect(p.get('client_id'), p.get('redirect_uri'));
    if ('status' in checked) return checked;
    const { redirectUri } = checked;
    const state = p.get('state') ?? undefined;
    const responseMode = (p.get('response_mode') ?? 'query') as ResponseMode;
    if (!['query', 'fragment', 'form_post'].includes(responseMode)) return errorPage(entraErrors.missingParameter('response_mode'));
    const fail = (error: EntraProtocolError): HttpResult => this.#respond(redirectUri, responseMode, { error: error.error, error_description: `AADSTS${error.aadstsCode}: ${error.description}`, state });
    if (p.get('response_type') !== 'code') {
      return this.#respond(redirectUri, responseMode, { error: 'unsupported_response_type', error_description: 'AADSTS700054: response_type must be code for this identity provider.', state });
    }
    const method = p.get('code_challenge_method') ?? (p.get('code_challenge') ? 'plain' : undefined);
    if (method !== undefined && method !== 'S256' && method !== 'plain') return fail(new EntraProtocolError('invalid_request', 501491, `Invalid code_challenge_method '${method}'.`));
    try {
      parseScopeRequest(this.ctx.directory, p.get('scope') ?? undefined, request.tenantPath);
    } catch (error) {
      if (error instanceof EntraProtocolError) return fail(error);
      throw error;
    }
    if (p.get('prompt') === 'none') return fail(new EntraProtocolError('interaction_required', 50058, 'A silent sign-in request was sent but no user is signed in.'));
    const interaction = this.#newInteraction(request, {
      kind: 'authorize',
      clientAppId: checked.app.appId,
      redirectUri,
      state,
      scope: p.get('scope') ?? undefined,
      nonce: p.get('nonce') ?? undefined,
      codeChallenge: p.get('code_challenge') ?? undefined,
      codeChallengeMethod: method,
      responseMode,
      forceConsent: p.get('prompt') === 'consent',
      adminConsentVersion: 1,
    });
    return this.#signInOrForm(interaction, request);
  }

  adminConsent(request: InteractiveRequest, version: 1 | 2): HttpResult {
    const p = request.params;
    const checked = this.#checkClientAndRedirect(p.get('client_id'), p.get('redirect_uri'));
    if ('status' in checked) return checked;
    const interaction = this.#newInteraction(request, {
      kind: 'adminconsent',
      clientAppId: checked.app.appId,
      redirectUri: checked.redirectUri,
      state: p.get('state') ?? undefined,
      scope: p.get('scope') ?? undefined,
      responseMode: 'query',
      forceConsent: true,
      adminConsentVersion: version,
    });
    return this.#signInOrForm(interaction, request);
  }

  /** POST /{tenant}/login from the form. */
  login(form: URLSearchParams): HttpResult {
    const interaction = this.#interaction(form.get('interaction'));
    if (!interaction) return errorPage(new EntraProtocolError('invalid_request', 50058, 'The sign-in session was not found or has expired. Start again from the application.'));
    return this.#authenticate(interaction, form.get('username') ?? '', form.get('password') ?? '');
  }

  /** POST /{tenant}/consent from the consent page. */
  consent(form: URLSearchParams): HttpResult {
    const interaction = this.#interaction(form.get('interaction'));
    if (!interaction?.userObjectId) return errorPage(new EntraProtocolError('invalid_request', 50058, 'The consent session was not found or has expired. Start again from the application.'));
    return this.#answerConsent(interaction, form.get('decision') === 'accept');
  }

  #interaction(id: string | null): Interaction | undefined {
    const interaction = id ? this.#interactions.get(id) : undefined;
    return interaction && interaction.expiresAt > nowInSeconds() ? interaction : undefined;
  }

  #checkClientAndRedirect(clientId: string | null, redirectUri: string | null): HttpResult | { app: StoredApp; redirectUri: string } {
    // Like Entra: problems with the client or its redirect URI are shown, never redirected.
    if (!clientId) return errorPage(entraErrors.missingParameter('client_id'));
    const app = this.ctx.directory.findApp(clientId);
    if (!app || app.firstParty) return errorPage(entraErrors.appNotFoundInDirectory(clientId, 'the directory'));
    if (!redirectUri) return errorPage(entraErrors.missingParameter('redirect_uri'));
    if (!this.ctx.directory.isRedirectUriRegistered(app, redirectUri)) return errorPage(entraErrors.redirectUriNotRegistered(redirectUri, app.appId));
    return { app, redirectUri };
  }

  #newInteraction(request: InteractiveRequest, fields: Omit<Interaction, 'id' | 'tenantPath' | 'segment' | 'expiresAt' | 'loginHint' | 'devConsent'>): Interaction {
    const devConsent = request.params.get('dev_consent') ?? header(request.headers, 'x-dev-consent');
    const interaction: Interaction = {
      ...fields,
      id: randomBytes(18).toString('base64url'),
      tenantPath: request.tenantPath,
      segment: request.segment,
      loginHint: request.params.get('login_hint') ?? undefined,
      devConsent: devConsent === 'accept' || devConsent === 'decline' ? devConsent : undefined,
      expiresAt: nowInSeconds() + INTERACTION_LIFETIME_IN_SECONDS,
    };
    this.#forgetExpired();
    this.#interactions.set(interaction.id, interaction);
    return interaction;
  }

  /** Abandoned sign-ins and unredeemed codes would otherwise pile up in a long-running IdP. */
  #forgetExpired(): void {
    const now = nowInSeconds();
    for (const [id, interaction] of this.#interactions) if (interaction.expiresAt <= now) this.#interactions.delete(id);
    for (const [code, issued] of this.ctx.codes) if (issued.expiresAt + 3600 <= now) this.ctx.codes.delete(code);
  }

  #signInOrForm(interaction: Interaction, request: InteractiveRequest): HttpResult {
    const devPassword = request.params.get('dev_password') ?? header(request.headers, 'x-dev-password');
    if (interaction.loginHint && devPassword !== undefined) return this.#authenticate(interaction, interaction.loginHint, devPassword);
    return this.#loginForm(interaction);
  }

  #loginForm(interaction: Interaction, error?: EntraProtocolError): HttpResult {
    const app = this.ctx.directory.app(interaction.clientAppId);
    const message = error ? `<p class="error">AADSTS${error.aadstsCode}: ${escapeHtml(error.description)}</p>` : '';
    const title = interaction.kind === 'adminconsent' ? `Sign in as an administrator to grant ${app.displayName}` : `Sign in to ${app.displayName}`;
    return htmlResult(
      200,
      page(
        title,
        `${message}<form method="post" action="/${escapeHtml(interaction.tenantPath)}/login">
<input type="hidden" name="interaction" value="${interaction.id}">
<label>User name <input name="username" autocomplete="username" value="${escapeHtml(interaction.loginHint ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`,
      ),
    );
  }

  #authenticate(interaction: Interaction, username: string, password: string): HttpResult {
    const directory = this.ctx.directory;
    const user = directory.findUser(username);
    const tenantName = interaction.segment.kind === 'tenant' ? interaction.segment.tenant.displayName : 'organizations';
    if (!user) return this.#loginForm(interaction, entraErrors.userNotFound(username, tenantName));
    if (interaction.segment.kind === 'tenant' && interaction.segment.tenant.id !== user.tenantId) return this.#loginForm(interaction, entraErrors.userNotFound(username, tenantName));
    if (!directory.checkPassword(user, password)) return this.#loginForm(interaction, entraErrors.invalidCredentials());
    const app = directory.app(interaction.clientAppId);
    if (app.homeTenantId !== user.tenantId && app.signInAudience !== 'AzureADMultipleOrgs') {
      return errorPage(new EntraProtocolError('invalid_request', 50020, `User account '${user.userPrincipalName}' from identity provider does not exist in tenant '${app.homeTenantId}' and cannot access the application '${app.appId}' (${app.displayName}) in that tenant.`));
    }
    // The interactive sign-in stands for the MFA a flagged user would do; afterwards refresh works again.
    if (user.interactionRequired) directory.setInteractionRequired(user.objectId, undefined);
    interaction.userObjectId = user.objectId;
    return interaction.kind === 'adminconsent' ? this.#adminConsentStep(interaction, user, app) : this.#authorizeStep(interaction, user, app);
  }

  #authorizeStep(interaction: Interaction, user: StoredUser, app: StoredApp): HttpResult {
    const scopeRequest = parseScopeRequest(this.ctx.directory, interaction.scope, user.tenantId);
    if (!interaction.forceConsent) {
      try {
        return this.#issueCode(interaction, user, scopeRequest, consentedScopes(this.ctx, user, app, scopeRequest));
      } catch (error) {
        if (!(error instanceof EntraProtocolError) || error.aadstsCode !== 65001) throw error;
      }
    }
    const tenant = this.ctx.directory.tenant(user.tenantId);
    if (!tenant.allowUserConsent && !user.isTenantAdmin) return errorPage(entraErrors.adminApprovalRequired(app.displayName), 403);
    return this.#consentStep(interaction, app, this.#permissionsToConsent(scopeRequest, app));
  }

  #adminConsentStep(interaction: Interaction, user: StoredUser, app: StoredApp): HttpResult {
    if (!user.isTenantAdmin) return errorPage(entraErrors.adminApprovalRequired(app.displayName), 403);
    const permissions = app.requiredResourceAccess.flatMap((r) => [
      ...(r.applicationPermissions ?? []).map((v) => `${r.resource}/${v} (application permission)`),
      ...(r.delegatedPermissions ?? []).map((v) => `${r.resource}/${v} (delegated, for all users)`),
    ]);
    return this.#consentStep(interaction, app, permissions);
  }

  #permissionsToConsent(scopeRequest: ScopeRequest, app: StoredApp): string[] {
    return requestedDelegatedScopes(scopeRequest, app, this.ctx.directory).map((v) => qualifiedScope(scopeRequest.resource, scopeRequest.audience, v));
  }

  #consentStep(interaction: Interaction, app: StoredApp, permissions: readonly string[]): HttpResult {
    if (interaction.devConsent) return this.#answerConsent(interaction, interaction.devConsent === 'accept');
    const list = permissions.map((p) => `<li>${escapeHtml(p)}</li>`).join('');
    const forOrganisation = interaction.kind === 'adminconsent' ? '<p>Accepting grants these permissions for your whole organisation.</p>' : '';
    return htmlResult(
      200,
      page(
        'Permissions requested',
        `<p>${escapeHtml(app.displayName)} (${escapeHtml(app.appId)}) asks for:</p><ul>${list}</ul>${forOrganisation}
<form method="post" action="/${escapeHtml(interaction.tenantPath)}/consent"><input type="hidden" name="interaction" value="${interaction.id}">
<button type="submit" name="decision" value="accept">Accept</button><button type="submit" name="decision" value="decline">Cancel</button></form>`,
      ),
    );
  }

  #answerConsent(interaction: Interaction, accepted: boolean): HttpResult {
    this.#interactions.delete(interaction.id);
    const directory = this.ctx.directory;
    const user = directory.user(interaction.userObjectId!);
    const app = directory.app(interaction.clientAppId);
    if (!accepted) {
      const declined = entraErrors.userDeclinedConsent();
      const extra = interaction.kind === 'adminconsent' ? { admin_consent: 'False' } : {};
      return this.#respond(interaction.redirectUri, interaction.responseMode, {
        error: declined.error,
        error_subcode: 'cancel',
        error_description: `AADSTS${declined.aadstsCode}: ${declined.description}`,
        state: interaction.state,
        ...extra,
      });
    }
    if (interaction.kind === 'adminconsent') {
      directory.grantAdminConsent(user.tenantId, app.appId);
      return this.#respond(interaction.redirectUri, 'query', {
        admin_consent: 'True',
        tenant: user.tenantId,
        state: interaction.state,
        ...(interaction.adminConsentVersion === 2 && interaction.scope ? { scope: interaction.scope } : {}),
      });
    }
    const scopeRequest = parseScopeRequest(directory, interaction.scope, user.tenantId);
    directory.grantUserConsent(user.tenantId, app.appId, user.objectId, this.#permissionsToConsent(scopeRequest, app));
    return this.#issueCode(interaction, user, scopeRequest, consentedScopes(this.ctx, user, app, scopeRequest));
  }

  #issueCode(interaction: Interaction, user: StoredUser, scopeRequest: ScopeRequest, scopes: readonly string[]): HttpResult {
    this.#interactions.delete(interaction.id);
    const code = `1.dev-code.${randomBytes(32).toString('base64url')}`;
    this.ctx.codes.set(code, {
      clientAppId: interaction.clientAppId,
      redirectUri: interaction.redirectUri,
      tenantId: user.tenantId,
      userObjectId: user.objectId,
      scopes,
      resourceAppId: scopeRequest.resource.appId,
      audience: scopeRequest.audience,
      codeChallenge: interaction.codeChallenge,
      codeChallengeMethod: interaction.codeChallengeMethod,
      nonce: interaction.nonce,
      expiresAt: nowInSeconds() + this.ctx.authorizationCodeLifetimeInSeconds,
      redeemed: false,
    });
    return this.#respond(interaction.redirectUri, interaction.responseMode, { code, state: interaction.state, session_state: randomBytes(16).toString('hex') });
  }

  #respond(redirectUri: string, mode: ResponseMode, values: Record<string, string | undefined>): HttpResult {
    const params = new URLSearchParams(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
    if (mode === 'form_post') {
      const inputs = [...params].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
      return htmlResult(200, `<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button>Continue</button></noscript></form></body></html>`);
    }
    const url = new URL(redirectUri);
    if (mode === 'fragment') url.hash = params.toString();
    else for (const [k, v] of params) url.searchParams.append(k, v);
    return redirectResult(url.toString());
  }
}
