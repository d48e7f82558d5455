import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../api';
import type { Schemas } from '../generated/admin-api';
import { Field, Notice, ProblemBox, Show, StatusBadge, formatTime, href, useAction, useLoad, type ScreenProps, Table, Tabs } from '../components';
import { ExpiryBanner } from './tenants';

type Group = Schemas['Group'];
type AccessType = Schemas['CreateGroupRequest']['mailboxAccessType'];
type Folder = Schemas['Group']['folders'][number];

export const ACCESS_TYPES: { value: AccessType; label: string; help: string }[] = [
  { value: 'impersonation', label: 'Service account (Exchange Impersonation)', help: 'One Exchange service account with the ApplicationImpersonation role opens every mailbox. For on-premises Exchange; Basic or NTLM.' },
  { value: 'appOnly', label: 'App-only (Modern Auth)', help: 'An Entra app registration with full_access_as_app, authenticated with a client secret or a certificate. For Exchange Online.' },
  { value: 'delegated', label: 'Delegated (each user signs in)', help: 'Each mailbox owner is invited, signs in and consents; nothing is stored for the group itself.' },
];

const FOLDERS: { value: Folder; label: string }[] = [
  { value: 'mail', label: 'Mail' },
  { value: 'calendar', label: 'Calendar' },
  { value: 'contacts', label: 'Contacts' },
  { value: 'tasks', label: 'Tasks' },
];

export function accessTypeLabel(value: string): string {
  return ACCESS_TYPES.find((a) => a.value === value)?.label ?? value;
}

export function GroupList(props: ScreenProps & { tenantId: string }): JSX.Element {
  const [groups] = useLoad(() => props.api.call('listGroups', { params: { tenantId: props.tenantId }, query: { limit: 200 } }), [props.tenantId]);
  return (
    <>
      <h2>Groups</h2>
      <p>
        <a class="button" href={href('tenants', props.tenantId, 'groups', 'new')}>
          Create group
        </a>
      </p>
      <Show loaded={groups} what="groups">
        {(page) =>
          page.items.length === 0 ? (
            <p>No groups yet.</p>
          ) : (
            <Table caption="Groups" columns={['Group', 'External ID', 'Mailbox Access Type', 'Credential', 'Enabled']}>
                  {page.items.map((group) => (
                    <tr key={group.id}>
                      <td>
                        <a href={href('tenants', props.tenantId, 'groups', group.id)}>{group.name}</a>
                      </td>
                      <td>
                        <code>{group.externalId}</code>
                      </td>
                      <td>{accessTypeLabel(group.mailboxAccessType)}</td>
                      <td>{group.mailboxAccessType === 'delegated' ? 'Per user' : group.credentials.credentialSet ? `Set${group.credentials.expiresOn ? `, expires ${formatTime(group.credentials.expiresOn)}` : ''}` : 'Not set'}</td>
                      <td>{group.enabled ? 'Yes' : 'No'}</td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Show>
    </>
  );
}

type Form = {
  name: string;
  externalId: string;
  mailboxAccessType: AccessType;
  ewsUrl: string;
  serviceAccount: string;
  authScheme: 'basic' | 'ntlm' | 'kerberos';
  password: string;
  kerberosRealm: string;
  kerberosKdcs: string;
  kerberosSpn: string;
  entraTenantId: string;
  clientId: string;
  credentialKind: 'clientSecret' | 'certificate';
  clientSecret: string;
  certificate: string;
  expiresOn: string;
  folders: Folder[];
  pollIntervalMinutes: string;
  webhookUrl: string;
  enabled: boolean;
};

const EMPTY: Form = {
  name: '',
  externalId: '',
  mailboxAccessType: 'impersonation',
  ewsUrl: '',
  serviceAccount: '',
  authScheme: 'ntlm',
  password: '',
  kerberosRealm: '',
  kerberosKdcs: '',
  kerberosSpn: '',
  entraTenantId: '',
  clientId: '',
  credentialKind: 'clientSecret',
  clientSecret: '',
  certificate: '',
  expiresOn: '',
  folders: ['mail'],
  pollIntervalMinutes: '5',
  webhookUrl: '',
  enabled: true,
};

/** KDCs are typed as one comma- or space-separated list; the SPN may be left to its default. */
function kerberosSettings(form: Form): Schemas['KerberosSettings'] {
  const kdcs = form.kerberosKdcs.split(/[\s,]+/).filter(Boolean);
  return { realm: form.kerberosRealm.trim(), kdcs, ...(form.kerberosSpn.trim() ? { servicePrincipal: form.kerberosSpn.trim() } : {}) };
}

function createRequest(form: Form): Schemas['CreateGroupRequest'] {
  return {
    name: form.name,
    externalId: form.externalId,
    mailboxAccessType: form.mailboxAccessType,
    ...(form.ewsUrl ? { ewsUrl: form.ewsUrl } : {}),
    ...(form.mailboxAccessType === 'impersonation' ? { impersonation: { serviceAccount: form.serviceAccount, authScheme: form.authScheme, ...(form.authScheme === 'kerberos' ? { kerberos: kerberosSettings(form) } : {}) } } : {}),
    ...(form.mailboxAccessType === 'appOnly' ? { appOnly: { entraTenantId: form.entraTenantId, clientId: form.clientId } } : {}),
    folders: form.folders,
    pollIntervalMinutes: Number(form.pollIntervalMinutes),
    ...(form.webhookUrl ? { delivery: { kind: 'webhook' as const, url: form.webhookUrl } } : {}),
    enabled: form.enabled,
  };
}

/** The write-only credential for the group's access type (undefined: nothing to store). */
function credentialRequest(form: Form): Schemas['SetCredentialsRequest'] | undefined {
  const expiresOn = form.expiresOn ? { expiresOn: new Date(`${form.expiresOn}T00:00:00Z`).toISOString() } : {};
  if (form.mailboxAccessType === 'impersonation' && form.password) return { password: form.password, ...expiresOn };
  if (form.mailboxAccessType === 'appOnly' && form.credentialKind === 'clientSecret' && form.clientSecret) return { clientSecret: form.clientSecret, ...expiresOn };
  if (form.mailboxAccessType === 'appOnly' && form.credentialKind === 'certificate' && form.certificate) return { certificate: form.certificate };
  return undefined;
}

function TextField(props: { label: string; help?: string; pointer: string; error: ApiError | undefined; value: string; onInput: (value: string) => void; type?: 'text' | 'password' | 'url' | 'email' | 'number' | 'date'; autoComplete?: string; required?: boolean }): JSX.Element {
  return (
    <Field label={props.label} {...(props.help ? { help: props.help } : {})} pointer={props.pointer} error={props.error}>
      {(a11y) => <input {...a11y} type={(props.type ?? 'text') as 'text'} value={props.value} required={props.required} autoComplete={props.autoComplete ?? 'off'} onInput={(e) => props.onInput(e.currentTarget.value)} />}
    </Field>
  );
}

export function CreateGroup(props: ScreenProps & { tenantId: string; navigate: (hash: string) => void }): JSX.Element {
  const [form, setForm] = useState<Form>(EMPTY);
  const action = useAction();
  const set = <K extends keyof Form>(key: K) => (value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const type = form.mailboxAccessType;
  const submit = async (event: Event) => {
    event.preventDefault();
    let created: Group | undefined;
    const ok = await action.run(async () => {
      created = await props.api.call('createGroup', { params: { tenantId: props.tenantId }, body: createRequest(form) });
      const credential = credentialRequest(form);
      if (credential) await props.api.call('setGroupCredentials', { params: { tenantId: props.tenantId, groupId: created.id }, body: credential });
    });
    if (created) props.navigate(href('tenants', props.tenantId, 'groups', created.id) + (ok ? '' : '?credential=failed'));
  };
  const e = action.error;
  return (
    <form onSubmit={submit} noValidate aria-labelledby="create-group-title">
      <h2 id="create-group-title">Create group</h2>
      <fieldset>
        <legend>Mailbox Access Type</legend>
        {ACCESS_TYPES.map((option) => (
          <div class="choice" key={option.value}>
            <input type="radio" id={`type-${option.value}`} name="mailboxAccessType" value={option.value} checked={type === option.value} onChange={() => set('mailboxAccessType')(option.value)} aria-describedby={`type-${option.value}-help`} />
            <label for={`type-${option.value}`}>{option.label}</label>
            <p class="help" id={`type-${option.value}-help`}>
              {option.help}
            </p>
          </div>
        ))}
        <p class="help">The Mailbox Access Type cannot be changed after creation: the stored credential is bound to it.</p>
      </fieldset>
      <TextField label="Name" pointer="/name" error={e} value={form.name} onInput={set('name')} required />
      <TextField label="External ID" help="Your identifier for the group, unique in the tenant. It cannot be changed after creation." pointer="/externalId" error={e} value={form.externalId} onInput={set('externalId')} required />
      {type === 'impersonation' && (
        <fieldset>
          <legend>Service account</legend>
          <TextField label="Logon" help="The service account: UPN (svc@contoso.com), DOMAIN\user or SMTP address. It needs the ApplicationImpersonation role." pointer="/impersonation/serviceAccount" error={e} value={form.serviceAccount} onInput={set('serviceAccount')} required />
          <TextField label="Password" help="Stored in Key Vault and never shown again. You can rotate it later." pointer="/password" error={e} value={form.password} onInput={set('password')} type="password" autoComplete="new-password" />
          <TextField label="EWS URL" help="Your Exchange server's EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx." pointer="/ewsUrl" error={e} value={form.ewsUrl} onInput={set('ewsUrl')} type="url" required />
          <Field label="Authentication" help="NTLM for most on-premises servers; Basic only over https." pointer="/impersonation/authScheme" error={e}>
            {(a11y) => (
              <select {...a11y} value={form.authScheme} onChange={(ev) => set('authScheme')(ev.currentTarget.value as Form['authScheme'])}>
                <option value="ntlm">NTLM</option>
                <option value="kerberos">Kerberos (Negotiate)</option>
                <option value="basic">Basic</option>
              </select>
            )}
          </Field>
          {form.authScheme === 'kerberos' && (
            <>
              <TextField label="Realm" help="The Active Directory DNS domain in upper case, e.g. CONTOSO.COM." pointer="/impersonation/kerberos/realm" error={e} value={form.kerberosRealm} onInput={set('kerberosRealm')} required />
              <TextField label="KDCs" help="Domain controllers as host or host:port, separated by commas, e.g. dc01.contoso.com, dc02.contoso.com." pointer="/impersonation/kerberos/kdcs" error={e} value={form.kerberosKdcs} onInput={set('kerberosKdcs')} required />
              <TextField label="Service principal (SPN)" help="Exchange's HTTP SPN, e.g. HTTP/mail.contoso.com. Leave empty for HTTP/ and the EWS URL's host. The password above (or a keytab, through the API) stays in Key Vault." pointer="/impersonation/kerberos/servicePrincipal" error={e} value={form.kerberosSpn} onInput={set('kerberosSpn')} />
            </>
          )}
          <p class="help">Impersonation: the service account opens each mailbox as its owner (ExchangeImpersonation), so mailbox owners need not share passwords.</p>
        </fieldset>
      )}
      {type === 'appOnly' && (
        <fieldset>
          <legend>Entra app</legend>
          <TextField label="Tenant" help="The customer's Entra tenant ID (a GUID)." pointer="/appOnly/entraTenantId" error={e} value={form.entraTenantId} onInput={set('entraTenantId')} required />
          <TextField label="Client" help="The app registration's client ID (a GUID). It needs full_access_as_app with admin consent." pointer="/appOnly/clientId" error={e} value={form.clientId} onInput={set('clientId')} required />
          <fieldset>
            <legend>Secret or certificate</legend>
            <div class="choice">
              <input type="radio" id="kind-secret" name="credentialKind" checked={form.credentialKind === 'clientSecret'} onChange={() => set('credentialKind')('clientSecret')} />
              <label for="kind-secret">Client secret</label>
            </div>
            <div class="choice">
              <input type="radio" id="kind-certificate" name="credentialKind" checked={form.credentialKind === 'certificate'} onChange={() => set('credentialKind')('certificate')} />
              <label for="kind-certificate">Certificate</label>
            </div>
          </fieldset>
          {form.credentialKind === 'clientSecret' ? (
            <>
              <TextField label="Client secret" help="Stored in Key Vault and never shown again." pointer="/clientSecret" error={e} value={form.clientSecret} onInput={set('clientSecret')} type="password" autoComplete="new-password" />
              <TextField label="Expiry" help="When the secret expires; a banner warns 30 days ahead." pointer="/expiresOn" error={e} value={form.expiresOn} onInput={set('expiresOn')} type="date" />
            </>
          ) : (
            <Field label="Certificate (PEM)" help="The certificate and its unencrypted private key, PEM. Its own expiry is used." pointer="/certificate" error={e}>
              {(a11y) => <textarea {...a11y} rows={5} value={form.certificate} onInput={(ev) => set('certificate')(ev.currentTarget.value)} />}
            </Field>
          )}
          <TextField label="EWS URL (optional)" help="Default: Exchange Online." pointer="/ewsUrl" error={e} value={form.ewsUrl} onInput={set('ewsUrl')} type="url" />
        </fieldset>
      )}
      {type === 'delegated' && (
        <fieldset>
          <legend>Delegated</legend>
          <p class="help">Nothing to store for the group: invite each user under Delegated users once the group exists; each signs in and consents.</p>
          <TextField label="EWS URL (optional)" help="Default: Exchange Online." pointer="/ewsUrl" error={e} value={form.ewsUrl} onInput={set('ewsUrl')} type="url" />
        </fieldset>
      )}
      <fieldset>
        <legend>Folders to sync</legend>
        {FOLDERS.map((folder) => (
          <div class="choice" key={folder.value}>
            <input
              type="checkbox"
              id={`folder-${folder.value}`}
              checked={form.folders.includes(folder.value)}
              onChange={(ev) => set('folders')(ev.currentTarget.checked ? [...form.folders, folder.value] : form.folders.filter((f) => f !== folder.value))}
            />
            <label for={`folder-${folder.value}`}>{folder.label}</label>
          </div>
        ))}
        {e?.fieldError('/folders') && <p class="field-error">{e.fieldError('/folders')}</p>}
      </fieldset>
      <TextField label="Poll interval (minutes)" help="How often mailboxes are checked for changes, 1-1440." pointer="/pollIntervalMinutes" error={e} value={form.pollIntervalMinutes} onInput={set('pollIntervalMinutes')} type="number" />
      <TextField label="Webhook URL (optional)" help="Where change records are delivered, signed with the group's signing key (shown once under Delivery). https only." pointer="/delivery/url" error={e} value={form.webhookUrl} onInput={set('webhookUrl')} type="url" />
      <div class="choice">
        <input type="checkbox" id="create-enabled" checked={form.enabled} onChange={(ev) => set('enabled')(ev.currentTarget.checked)} aria-describedby="create-enabled-help" />
        <label for="create-enabled">Start syncing now</label>
        <p class="help" id="create-enabled-help">
          Leave unchecked to add mailboxes and pass the connection test first; enable the group under Change settings.
        </p>
      </div>
      <ProblemBox error={e} shownPointers={['/delivery/url', '/name', '/externalId', '/ewsUrl', '/impersonation/serviceAccount', '/impersonation/authScheme', '/impersonation/kerberos', '/impersonation/kerberos/realm', '/impersonation/kerberos/kdcs', '/impersonation/kerberos/servicePrincipal', '/password', '/appOnly/entraTenantId', '/appOnly/clientId', '/clientSecret', '/certificate', '/expiresOn', '/folders', '/pollIntervalMinutes']} />
      <button type="submit" disabled={action.busy}>
        Create group
      </button>
    </form>
  );
}

export function GroupNav(props: { tenantId: string; groupId: string; current: string }): JSX.Element {
  const base = ['tenants', props.tenantId, 'groups', props.groupId];
  return (
    <Tabs
      label="Group"
      current={props.current}
      links={[
        ['', href(...base), 'Settings and credential'],
        ['connection-test', href(...base, 'connection-test'), 'Connection test'],
        ['mailboxes', href(...base, 'mailboxes'), 'Mailboxes'],
        ['delivery', href(...base, 'delivery'), 'Delivery'],
      ]}
    />
  );
}

export function GroupFrame(props: ScreenProps & { tenantId: string; groupId: string; current: string; children: (group: Group, reload: () => Promise<void>) => JSX.Element }): JSX.Element {
  const [group, reload] = useLoad(() => props.api.call('getGroup', { params: { tenantId: props.tenantId, groupId: props.groupId } }), [props.tenantId, props.groupId]);
  return (
    <Show loaded={group} what="the group">
      {(value) => (
        <>
          <p class="crumbs">
            <a href={href('tenants', props.tenantId, 'groups')}>Groups</a> /
          </p>
          <h2 id="group-title">{value.name}</h2>
          <dl class="facts">
            <dt>External ID</dt>
            <dd>
              <code>{value.externalId}</code> <span class="help">(cannot be changed after creation)</span>
            </dd>
            <dt>Mailbox Access Type</dt>
            <dd>{accessTypeLabel(value.mailboxAccessType)}</dd>
          </dl>
          <ExpiryBanner api={props.api} tenantId={props.tenantId} groupId={props.groupId} {...(value.credentials.updatedAt ? { refreshKey: value.credentials.updatedAt } : {})} />
          <GroupNav tenantId={props.tenantId} groupId={props.groupId} current={props.current} />
          {props.children(value, reload)}
        </>
      )}
    </Show>
  );
}

const CREDENTIAL_WORDS: Record<string, string> = { password: 'Password', clientSecret: 'Client secret', certificate: 'Certificate' };

export function GroupSettings(props: ScreenProps & { group: Group; reload: () => Promise<void> }): JSX.Element {
  const { group } = props;
  const [value, setValue] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const [appOnlyKind, setAppOnlyKind] = useState<'clientSecret' | 'certificate'>(group.credentials.kind === 'certificate' ? 'certificate' : 'clientSecret');
  const kind: 'password' | 'clientSecret' | 'certificate' = group.mailboxAccessType === 'impersonation' ? 'password' : appOnlyKind;
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const expiry = expiresOn && kind !== 'certificate' ? { expiresOn: new Date(`${expiresOn}T00:00:00Z`).toISOString() } : {};
    const ok = await action.run(async () => {
      await props.api.call('setGroupCredentials', { params: { tenantId: group.tenantId, groupId: group.id }, body: { [kind]: value, ...expiry } });
    });
    if (ok) {
      setValue('');
      setSaved(true);
      await props.reload();
    }
  };
  const failed = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('credential') === 'failed';
  return (
    <>
      <h3>Settings</h3>
      <dl class="facts">
        <dt>EWS URL</dt>
        <dd>{group.ewsUrl}</dd>
        {group.impersonation && (
          <>
            <dt>Service account</dt>
            <dd>
              {group.impersonation.serviceAccount} ({group.impersonation.authScheme.toUpperCase()})
            </dd>
          </>
        )}
        {group.appOnly && (
          <>
            <dt>Tenant / client</dt>
            <dd>
              {group.appOnly.entraTenantId} / {group.appOnly.clientId}
            </dd>
          </>
        )}
        <dt>Folders</dt>
        <dd>{group.folders.join(', ')}</dd>
        <dt>Poll interval</dt>
        <dd>{group.pollIntervalMinutes} minutes</dd>
        <dt>Enabled</dt>
        <dd>{group.enabled ? 'Yes' : 'No'}</dd>
      </dl>
      <GroupEdit api={props.api} group={group} reload={props.reload} />
      {group.mailboxAccessType !== 'delegated' && (
        <form onSubmit={submit} noValidate aria-labelledby="credential-title">
          <h3 id="credential-title">Credential</h3>
          {failed && !group.credentials.credentialSet && <Notice kind="warning">The group was created, but its credential was not stored. Set it here.</Notice>}
          <p>
            {group.credentials.credentialSet
              ? `${CREDENTIAL_WORDS[group.credentials.kind ?? kind]} set ${formatTime(group.credentials.updatedAt)}${group.credentials.expiresOn ? `; expires ${formatTime(group.credentials.expiresOn)}` : ''}. The value is never shown: enter a new one to rotate it.`
              : 'No credential set yet.'}
          </p>
          {group.mailboxAccessType === 'appOnly' && (
            <fieldset>
              <legend>Secret or certificate</legend>
              <div class="choice">
                <input type="radio" id="rotate-secret" name="rotate-kind" checked={appOnlyKind === 'clientSecret'} onChange={() => setAppOnlyKind('clientSecret')} />
                <label for="rotate-secret">Client secret</label>
              </div>
              <div class="choice">
                <input type="radio" id="rotate-certificate" name="rotate-kind" checked={appOnlyKind === 'certificate'} onChange={() => setAppOnlyKind('certificate')} />
                <label for="rotate-certificate">Certificate</label>
              </div>
            </fieldset>
          )}
          <Field label={group.credentials.credentialSet ? `New ${CREDENTIAL_WORDS[kind]!.toLowerCase()}` : CREDENTIAL_WORDS[kind]!} help="Write-only: stored in Key Vault, never shown again." pointer={`/${kind}`} error={action.error}>
            {(a11y) =>
              kind === 'certificate' ? (
                <textarea {...a11y} rows={5} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
              ) : (
                <input {...a11y} type="password" autoComplete="new-password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
              )
            }
          </Field>
          {kind !== 'certificate' && (
            <Field label="Expiry (optional)" help="When it expires; a banner warns 30 days ahead." pointer="/expiresOn" error={action.error}>
              {(a11y) => <input {...a11y} type="date" value={expiresOn} onInput={(e) => setExpiresOn(e.currentTarget.value)} />}
            </Field>
          )}
          <ProblemBox error={action.error} shownPointers={[`/${kind}`, '/expiresOn']} />
          {saved && <Notice kind="success">Stored. The new value is in use from the next connection.</Notice>}
          <button type="submit" disabled={action.busy}>
            {group.credentials.credentialSet ? 'Rotate' : 'Set'} {CREDENTIAL_WORDS[kind]!.toLowerCase()}
          </button>
        </form>
      )}
      {group.deliveryHealth?.failingSince && (
        <Notice kind="warning">
          Delivery failing since {formatTime(group.deliveryHealth.failingSince)}: {group.deliveryHealth.lastDeliveryError?.message}
        </Notice>
      )}
      <p class="meta">
        Created {formatTime(group.createdAt)} · updated {formatTime(group.updatedAt)} · <StatusBadge status={group.enabled ? 'active' : 'disabled'} />
      </p>
    </>
  );
}

/** Changes what may change after creation; External ID and Mailbox Access Type may not. */
function GroupEdit(props: ScreenProps & { group: Group; reload: () => Promise<void> }): JSX.Element {
  const { group } = props;
  const [name, setName] = useState(group.name);
  const [enabled, setEnabled] = useState(group.enabled);
  const [pollIntervalMinutes, setPoll] = useState(String(group.pollIntervalMinutes));
  const [folders, setFolders] = useState<Folder[]>([...group.folders]);
  const [webhookUrl, setWebhookUrl] = useState(group.delivery?.kind === 'webhook' ? group.delivery.url : '');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const queueTarget = group.delivery?.kind === 'queue';
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body: Schemas['UpdateGroupRequest'] = {
      name,
      enabled,
      pollIntervalMinutes: Number(pollIntervalMinutes),
      folders,
      // A queue target is kept as it is; the webhook URL field is for webhook targets.
      ...(queueTarget ? {} : { delivery: webhookUrl ? { kind: 'webhook', url: webhookUrl } : null }),
    };
    const ok = await action.run(async () => void (await props.api.call('updateGroup', { params: { tenantId: group.tenantId, groupId: group.id }, body })));
    if (ok) {
      setSaved(true);
      await props.reload();
    }
  };
  const e = action.error;
  return (
    <details>
      <summary>Change settings</summary>
      <form onSubmit={submit} noValidate aria-label="Change settings">
        <TextField label="Name" pointer="/name" error={e} value={name} onInput={setName} />
        <div class="choice">
          <input type="checkbox" id="group-enabled" checked={enabled} onChange={(ev) => setEnabled(ev.currentTarget.checked)} aria-describedby="group-enabled-help" />
          <label for="group-enabled">Enabled</label>
          <p class="help" id="group-enabled-help">
            A disabled group is not synced; its mailboxes and credential are kept.
          </p>
        </div>
        <fieldset>
          <legend>Folders to sync</legend>
          {FOLDERS.map((folder) => (
            <div class="choice" key={folder.value}>
              <input type="checkbox" id={`edit-folder-${folder.value}`} checked={folders.includes(folder.value)} onChange={(ev) => setFolders(ev.currentTarget.checked ? [...folders, folder.value] : folders.filter((f) => f !== folder.value))} />
              <label for={`edit-folder-${folder.value}`}>{folder.label}</label>
            </div>
          ))}
          {e?.fieldError('/folders') && <p class="field-error">{e.fieldError('/folders')}</p>}
        </fieldset>
        <TextField label="Poll interval (minutes)" help="1-1440." pointer="/pollIntervalMinutes" error={e} value={pollIntervalMinutes} onInput={setPoll} type="number" />
        {!queueTarget && <TextField label="Webhook URL" help="Empty: changes are not delivered." pointer="/delivery/url" error={e} value={webhookUrl} onInput={setWebhookUrl} type="url" />}
        <ProblemBox error={e} shownPointers={['/name', '/folders', '/pollIntervalMinutes', '/delivery']} />
        {saved && <Notice kind="success">Saved.</Notice>}
        <button type="submit" disabled={action.busy}>
          Save settings
        </button>
      </form>
    </details>
  );
}
