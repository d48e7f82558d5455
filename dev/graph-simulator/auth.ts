/**
 * Bearer tokens as Graph checks them for Exchange Online mailboxes: RS256 from the tenant's keys,
 * audience Graph, tenant = the organisation's Entra tenant; then per call the permission
 * (app `roles` or delegated `scp`), the mailbox (delegated: own or shared with FullAccess) and
 * application RBAC scoping (the store's application access policies).
 */
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { TenantKeySets, tenantOf } from '../ews-simulator/auth';
import type { EwsStore, Folder, Mailbox } from '../ews-simulator/model';
import { canReadFolder } from '../ews-simulator/folder-permissions';
import { GraphError, graphErrors } from './errors';

export const GRAPH_AUDIENCES = ['https://graph.microsoft.com', 'https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000'];

export type GraphCaller =
  | { readonly kind: 'app'; readonly organisationId: string; readonly appId: string; readonly roles: readonly string[] }
  | { readonly kind: 'user'; readonly organisationId: string; readonly appId: string; readonly scopes: readonly string[]; readonly mailbox: Mailbox };

/** What an operation touches: the permission family and whether it writes. */
export type PermissionArea = 'mail' | 'mailSend' | 'calendars' | 'contacts' | 'tasks' | 'user' | 'translateIds' | 'directory' | 'people';

export interface Permission {
  readonly area: PermissionArea;
  readonly write: boolean;
}

/** Application permissions (roles) that allow an area; the first read list also grants read. */
const APP_ROLES: Record<PermissionArea, { read: readonly string[]; write: readonly string[] }> = {
  mail: { read: ['Mail.Read', 'Mail.ReadWrite', 'Mail.ReadBasic.All', 'Mail.ReadBasic'], write: ['Mail.ReadWrite'] },
  mailSend: { read: ['Mail.Send'], write: ['Mail.Send'] },
  calendars: { read: ['Calendars.Read', 'Calendars.ReadWrite', 'Calendars.ReadBasic.All'], write: ['Calendars.ReadWrite'] },
  contacts: { read: ['Contacts.Read', 'Contacts.ReadWrite'], write: ['Contacts.ReadWrite'] },
  tasks: { read: ['Tasks.Read.All', 'Tasks.ReadWrite.All'], write: ['Tasks.ReadWrite.All'] },
  user: { read: ['User.Read.All', 'User.ReadBasic.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Mail.Read', 'Mail.ReadWrite', 'Mail.ReadBasic.All'], write: [] },
  // Graph: translateExchangeIds has no application permission.
  translateIds: { read: [], write: [] },
  // Listing users (GET /users): the directory permissions; the mail permissions read only a user's own entry.
  directory: { read: ['User.Read.All', 'User.ReadBasic.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], write: [] },
  people: { read: ['People.Read.All'], write: [] },
};

/** Delegated scopes for the signed-in user's own mailbox; `.Shared` variants reach mailboxes shared with them. */
const USER_SCOPES: Record<PermissionArea, { read: readonly string[]; write: readonly string[] }> = {
  mail: { read: ['Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'], write: ['Mail.ReadWrite'] },
  mailSend: { read: ['Mail.Send'], write: ['Mail.Send'] },
  calendars: { read: ['Calendars.ReadBasic', 'Calendars.Read', 'Calendars.ReadWrite'], write: ['Calendars.ReadWrite'] },
  contacts: { read: ['Contacts.Read', 'Contacts.ReadWrite'], write: ['Contacts.ReadWrite'] },
  tasks: { read: ['Tasks.Read', 'Tasks.ReadWrite'], write: ['Tasks.ReadWrite'] },
  user: { read: ['User.Read', 'User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite', 'User.ReadWrite.All'], write: [] },
  translateIds: { read: ['User.ReadBasic.All', 'User.Read', 'User.Read.All', 'User.ReadWrite', 'User.ReadWrite.All'], write: [] },
  directory: { read: ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], write: [] },
  // People.Read reaches the signed-in user's own people; another user's need People.Read.All.
  people: { read: ['People.Read', 'People.Read.All'], write: [] },
};

function allowedNames(table: Record<PermissionArea, { read: readonly string[]; write: readonly string[] }>, permission: Permission): readonly string[] {
  const entry = table[permission.area];
  return permission.write ? entry.write : entry.read;
}

export interface GraphAuthOptions {
  readonly jwksUri: (tenantId: string) => string;
}

export class GraphAuthenticator {
  private readonly keys: TenantKeySets;

  constructor(
    private readonly store: EwsStore,
    options: GraphAuthOptions,
  ) {
    this.keys = new TenantKeySets(options.jwksUri);
  }

  /** Verifies the Authorization header; throws 401 InvalidAuthenticationToken. */
  async authenticate(authorization: string | undefined): Promise<GraphCaller> {
    if (!authorization || !authorization.trim()) throw graphErrors.noToken();
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw graphErrors.badToken('Access token validation failure. Invalid audience.');
    const token = match[1]!;
    const tenant = tenantOf(token);
    if (!tenant) throw graphErrors.badToken('IDX14100: JWT is not well formed.');
    const org = this.store.organisationForTenant(tenant);
    if (!org || !org.authentication.oauth) throw graphErrors.badToken('Access token validation failure. The tenant of the token is not known.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.get(tenant), { audience: GRAPH_AUDIENCES, algorithms: ['RS256'], clockTolerance: 300 }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw graphErrors.badToken('Lifetime validation failed, the token is expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') throw graphErrors.badToken('Access token validation failure. Invalid audience.');
      throw graphErrors.badToken('Access token validation failure. The signature is invalid.');
    }
    const appId = String(payload.appid ?? payload.azp ?? '').toLowerCase();
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [];
    if (scopes.length > 0) {
      const name = String(payload.upn ?? payload.preferred_username ?? payload.unique_name ?? '');
      const byName = name ? this.store.getMailbox(name) : undefined;
      const oid = String(payload.oid ?? '').toLowerCase();
      const mailbox = byName ?? this.store.mailboxes(org.id).find((m) => m.entraObjectId === oid);
      if (!mailbox || mailbox.organisationId !== org.id) throw graphErrors.badToken('Access token validation failure. The user in the token does not exist in the tenant.');
      return { kind: 'user', organisationId: org.id, appId, scopes, mailbox };
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.map(String) : [];
    return { kind: 'app', organisationId: org.id, appId, roles };
  }

  /** Whether the caller may list the organisation's users (GET /users); 403 Authorization_RequestDenied otherwise, as Entra answers. */
  authorizeDirectory(caller: GraphCaller): void {
    const names = allowedNames(caller.kind === 'app' ? APP_ROLES : USER_SCOPES, { area: 'directory', write: false });
    const granted = caller.kind === 'app' ? caller.roles : caller.scopes;
    if (!granted.some((name) => names.includes(name))) throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }

  /**
   * Whether the caller may do `permission` on `target`; throws 403 ErrorAccessDenied otherwise.
   * Permission first (as Graph does), then the mailbox: delegated callers reach their own mailbox,
   * or another one with the .Shared scope and FullAccess on it; app-only callers are limited by
   * the organisation's application access policies / RBAC management scopes for the app.
   */
  authorize(caller: GraphCaller, permission: Permission, target: Mailbox, folder?: () => Folder): void {
    if (caller.kind === 'app') {
      const allowed = allowedNames(APP_ROLES, permission);
      if (!caller.roles.some((role) => allowed.includes(role))) {
        throw graphErrors.accessDenied(permission.area === 'translateIds' ? 'Access is denied. translateExchangeIds is not supported with application permissions.' : undefined);
      }
      const policies = this.store.applicationAccessPolicies(caller.organisationId, caller.appId);
      if (policies.length > 0 && !policies.some((p) => this.store.scopeCovers(p.scope, target))) {
        throw graphErrors.accessDenied('Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.');
      }
      return;
    }
    const own = caller.mailbox.smtpAddress === target.smtpAddress;
    const names = allowedNames(USER_SCOPES, permission);
    const hasOwn = caller.scopes.some((s) => names.includes(s) || names.includes(s.replace(/\.Shared$/, '')));
    if (!hasOwn) throw graphErrors.accessDenied();
    // Reading another user's directory entry needs no mailbox right.
    if (own || permission.area === 'user') return;
    if (permission.area === 'people') {
      if (!caller.scopes.includes('People.Read.All')) throw graphErrors.accessDenied();
      return;
    }
    const principals = new Set([caller.mailbox.userPrincipalName, caller.mailbox.smtpAddress]);
    // FullAccess reaches every folder; a folder permission or delegate access only the folder the request names
    // (resolved lazily: a folder that does not exist answers 403 too, as Graph does for folders one cannot see).
    const folderRight = (): boolean => {
      if (!folder) return false;
      try {
        return canReadFolder(target, folder(), principals);
      } catch {
        return false;
      }
    };
    const hasAccess = target.fullAccess.some((p) => principals.has(p)) || folderRight();
    // Translating ids of another mailbox's items needs access to that mailbox, not a .Shared scope.
    const shared = permission.area === 'translateIds' || caller.scopes.some((s) => s.endsWith('.Shared') && names.includes(s.replace(/\.Shared$/, '')));
    if (!shared || !hasAccess) throw graphErrors.accessDenied();
  }
}
