import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { Field, Notice, ProblemBox, Show, StatusBadge, formatTime, href, useAction, useLoad, type ScreenProps, Table, Tabs } from '../components';

type Tenant = Schemas['Tenant'];

/** Credentials expired or expiring within 30 days, across the caller's tenants. */
export function ExpiryBanner(props: ScreenProps & { tenantId?: string; groupId?: string; refreshKey?: string }): JSX.Element | null {
  const [status] = useLoad(() => props.api.call('getCredentialStatus', {}), [props.refreshKey]);
  if (status.state !== 'ready') return null;
  const items = status.value.items.filter((i) => (!props.tenantId || i.tenantId === props.tenantId) && (!props.groupId || i.groupId === props.groupId));
  if (items.length === 0) return null;
  return (
    <Notice kind="warning">
      <p>
        <strong>Credentials need attention</strong>
      </p>
      <ul>
        {items.map((item) => (
          <li key={`${item.tenantId}/${item.groupId}/${item.secretName}`}>
            {item.groupName ? `${item.groupName}: ` : ''}
            {item.message} ({item.daysLeft < 0 ? 'expired' : `${item.daysLeft} days left`}, expires {formatTime(item.expiresOn)})
          </li>
        ))}
      </ul>
    </Notice>
  );
}

function ConsentCell(props: ScreenProps & { tenant: Tenant }): JSX.Element {
  const [consent] = useLoad(() => props.api.call('getAdminConsent', { params: { tenantId: props.tenant.id } }), [props.tenant.id]);
  const [link, setLink] = useState<Schemas['AdminConsentLink']>();
  const action = useAction();
  const create = () => action.run(async () => setLink(await props.api.call('createAdminConsentLink', { params: { tenantId: props.tenant.id } })));
  return (
    <div>
      <Show loaded={consent} what="consent status">
        {(value) => (
          <p>
            <StatusBadge status={value.status} /> {value.at ? `(${formatTime(value.at)})` : ''}
            {value.error ? ` ${value.error.description}` : ''}
          </p>
        )}
      </Show>
      <button type="button" onClick={create} disabled={action.busy} aria-label={`Create consent link for ${props.tenant.displayName}`}>
        Create consent link
      </button>
      <ProblemBox error={action.error} />
      {link && (
        <div class="once">
          <label>
            Consent link for an administrator of the customer's Entra tenant (single use, expires {formatTime(link.expiresAt)})
            <input type="text" readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </div>
      )}
    </div>
  );
}

/** Operators (Connector.Admin) add customer tenants; the API refuses everyone else. */
function CreateTenant(props: ScreenProps & { onCreated: () => Promise<void> }): JSX.Element {
  const [displayName, setDisplayName] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await action.run(async () => void (await props.api.call('createTenant', { body: { displayName, status: 'active' } })))) {
      setDisplayName('');
      await props.onCreated();
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="create-tenant-title">
      <h2 id="create-tenant-title">Add a tenant</h2>
      <Field label="Display name" help="The customer's name. Its Entra tenant is bound when their administrator grants consent through the consent link." pointer="/displayName" error={action.error}>
        {(a11y) => <input {...a11y} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />}
      </Field>
      <ProblemBox error={action.error} shownPointers={['/displayName']} />
      <button type="submit" disabled={action.busy}>
        Add tenant
      </button>
    </form>
  );
}

export function TenantList(props: ScreenProps): JSX.Element {
  const [tenants, reload] = useLoad(() => props.api.call('listTenants', { query: { limit: 200 } }), []);
  const [me] = useLoad(() => props.api.call('ping', {}), []);
  const isOperator = me.state === 'ready' && me.value.roles.includes('Connector.Admin');
  return (
    <section aria-labelledby="tenants-title">
      <h1 id="tenants-title">Tenants</h1>
      <ExpiryBanner api={props.api} />
      <p class="help">A tenant's Entra binding is made when an administrator of the customer's Entra tenant grants admin consent through the consent link.</p>
      <Show loaded={tenants} what="tenants">
        {(page) =>
          page.items.length === 0 ? (
            <p>No tenants yet.</p>
          ) : (
            <Table caption="Tenants, their Entra binding and consent" columns={['Tenant', 'Status', 'Entra binding', 'Admin consent']}>
                  {page.items.map((tenant) => (
                    <tr key={tenant.id}>
                      <td>
                        <a href={href('tenants', tenant.id)}>{tenant.displayName}</a>
                      </td>
                      <td>
                        <StatusBadge status={tenant.status} />
                      </td>
                      <td>{tenant.entraTenantId ? <code>{tenant.entraTenantId}</code> : 'Not bound yet'}</td>
                      <td>
                        <ConsentCell api={props.api} tenant={tenant} />
                      </td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Show>
      {isOperator && <CreateTenant api={props.api} onCreated={reload} />}
    </section>
  );
}

export function TenantNav(props: { tenantId: string; current: string }): JSX.Element {
  const tab = (path: string, label: string): [string, string, string] => [path, href('tenants', props.tenantId, path), label];
  return <Tabs label="Tenant" current={props.current} links={[tab('groups', 'Groups'), tab('delegated-users', 'Delegated users'), tab('dead-letters', 'Dead letters'), tab('audit', 'Audit log')]} />;
}

/** The tenant's heading, or the API's 404 in words when the tenant is unknown or not the caller's. */
export function TenantFrame(props: ScreenProps & { tenantId: string; current: string; children: (tenant: Tenant) => JSX.Element }): JSX.Element {
  const [tenant] = useLoad(() => props.api.call('getTenant', { params: { tenantId: props.tenantId } }), [props.tenantId]);
  return (
    <Show loaded={tenant} what="the tenant">
      {(value) => (
        <section aria-labelledby="tenant-title">
          <p class="crumbs">
            <a href={href('tenants')}>Tenants</a> /
          </p>
          <h1 id="tenant-title">{value.displayName}</h1>
          <p class="meta">
            Entra binding: {value.entraTenantId ? <code>{value.entraTenantId}</code> : 'not bound yet'} · <StatusBadge status={value.status} />
          </p>
          <TenantNav tenantId={value.id} current={props.current} />
          {props.children(value)}
        </section>
      )}
    </Show>
  );
}
