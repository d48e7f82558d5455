import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { Field, Notice, ProblemBox, Show, StatusBadge, formatTime, useAction, useLoad, type ScreenProps, Table, StatusFilter, type StatusFilterValue } from '../components';

type Mailbox = Schemas['Mailbox'];
export type MailboxFilter = StatusFilterValue;

const HAS_ERROR = new Set(['error', 'needsReauthentication']);

export function matchesFilter(mailbox: Pick<Mailbox, 'status'>, filter: MailboxFilter): boolean {
  if (filter === 'all') return true;
  return filter === 'errors' ? HAS_ERROR.has(mailbox.status) : !HAS_ERROR.has(mailbox.status);
}

/** RFC 4180-ish: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** CSV with a header row naming smtpAddress and optionally displayName, userId, enabled. */
export function csvToMailboxes(text: string): Record<string, unknown>[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header) return [];
  const names = header.map((h) => h.trim());
  return rows.map((row) => {
    const record: Record<string, unknown> = {};
    names.forEach((name, index) => {
      const value = (row[index] ?? '').trim();
      if (value === '') return;
      record[name] = name === 'enabled' ? value.toLowerCase() !== 'false' : value;
    });
    return record;
  });
}

function SyncProgress(props: ScreenProps & { group: Schemas['Group']; mailbox: Mailbox }): JSX.Element {
  const [detail] = useLoad(() => props.api.call('getMailbox', { params: { tenantId: props.group.tenantId, groupId: props.group.id, mailbox: props.mailbox.smtpAddress } }), [props.mailbox.updatedAt]);
  const progress = detail.state === 'ready' ? detail.value.syncProgress : undefined;
  const items = progress?.itemsSyncedInPass ?? 0;
  return (
    <div class="progress">
      <progress aria-label={`Initial sync of ${props.mailbox.smtpAddress}`}>{items} items</progress>
      <span>
        {progress
          ? `Initial sync running: ${items.toLocaleString('en-GB')} items so far${progress.continuationPending ? ', continuing' : ''}${progress.continuationReason ? ` (${progress.continuationReason})` : ''}`
          : 'Initial sync waiting to start'}
      </span>
    </div>
  );
}

const KIND_NAMES: Readonly<Record<string, string>> = { mail: 'Mail', calendar: 'Calendar', contacts: 'Contacts', tasks: 'Tasks' };

/** Which folders the mailbox syncs (its own choice or the group's) and, for a linked mailbox, whose token reaches it. */
function FoldersAndAccess(props: { group: Schemas['Group']; mailbox: Mailbox }): JSX.Element {
  const chosen = props.mailbox.folders;
  return (
    <div class="folders">
      <ul aria-label={`Folders of ${props.mailbox.smtpAddress}`}>
        {chosen
          ? chosen.map((folder, index) => (
              <li key={index}>
                {KIND_NAMES[folder.kind] ?? folder.kind}
                {folder.path ? `: ${folder.path}` : folder.id ? `: folder ${folder.id.slice(0, 12)}…` : ' (default folder)'}
              </li>
            ))
          : props.group.folders.map((kind) => <li key={kind}>{KIND_NAMES[kind] ?? kind} (group default)</li>)}
      </ul>
      {props.mailbox.delegatedUserObjectId && <span class="linked">Linked: reached with the token of user {props.mailbox.delegatedUserObjectId}</span>}
    </div>
  );
}

function MailboxRows(props: ScreenProps & { group: Schemas['Group']; items: Mailbox[] }): JSX.Element {
  return (
    <Table caption="Mailboxes" columns={['Mailbox', 'Status', 'Last error', 'Last successful sync', 'Created / updated / deleted', 'Folders and access']}>
          {props.items.map((mailbox) => (
            <tr key={mailbox.smtpAddress}>
              <td>
                {mailbox.displayName && <span class="name">{mailbox.displayName}</span>} <span class="address">{mailbox.smtpAddress}</span>
              </td>
              <td>
                <StatusBadge status={mailbox.status} />
                {mailbox.status === 'pending' && mailbox.enabled && props.group.enabled && <SyncProgress api={props.api} group={props.group} mailbox={mailbox} />}
              </td>
              <td>{mailbox.lastError ? `${mailbox.lastError.message} (${formatTime(mailbox.lastError.at)})` : '—'}</td>
              <td>{formatTime(mailbox.lastSuccessfulSyncAt)}</td>
              <td>
                {mailbox.counts.created} / {mailbox.counts.updated} / {mailbox.counts.deleted}
              </td>
              <td>
                <FoldersAndAccess group={props.group} mailbox={mailbox} />
              </td>
            </tr>
          ))}
        </Table>
  );
}

export function Mailboxes(props: ScreenProps & { group: Schemas['Group'] }): JSX.Element {
  const { group } = props;
  const params = { tenantId: group.tenantId, groupId: group.id };
  const [filter, setFilter] = useState<MailboxFilter>('all');
  const [page, reload] = useLoad(() => props.api.call('listMailboxes', { params, query: { limit: 200 } }), [group.id]);
  const pending = group.enabled && page.state === 'ready' && page.value.items.some((m) => m.status === 'pending' && m.enabled);
  useEffect(() => {
    // While an initial sync runs, refresh so the progress and statuses move without a reload.
    if (!pending) return undefined;
    const timer = setInterval(() => void reload(), 3000);
    return () => clearInterval(timer);
  }, [pending]);
  return (
    <>
      <h3>Mailboxes</h3>
      {!group.enabled && <Notice kind="info">This group is disabled: its mailboxes are not synced. Enable it under Settings and credential, Change settings.</Notice>}
      <StatusFilter name="mailbox-filter" value={filter} onChange={setFilter} />
      <Show loaded={page} what="mailboxes">
        {(value) => {
          const shown = value.items.filter((m) => matchesFilter(m, filter));
          return (
            <>
              <p role="status">
                {shown.length} of {value.items.length} mailboxes
              </p>
              {shown.length > 0 && <MailboxRows api={props.api} group={group} items={shown} />}
            </>
          );
        }}
      </Show>
      <AddMailbox api={props.api} group={group} onAdded={reload} />
      <ImportMailboxes api={props.api} group={group} onImported={reload} />
    </>
  );
}

function AddMailbox(props: ScreenProps & { group: Schemas['Group']; onAdded: () => Promise<void> }): JSX.Element {
  const [smtpAddress, setAddress] = useState('');
  const [displayName, setName] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const ok = await action.run(async () => {
      await props.api.call('createMailbox', { params: { tenantId: props.group.tenantId, groupId: props.group.id }, body: { smtpAddress, ...(displayName ? { displayName } : {}), enabled: true } });
    });
    if (ok) {
      setAddress('');
      setName('');
      await props.onAdded();
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="add-mailbox-title">
      <h4 id="add-mailbox-title">Add a mailbox</h4>
      <Field label="SMTP address" pointer="/smtpAddress" error={action.error}>
        {(a11y) => <input {...a11y} type="email" value={smtpAddress} onInput={(e) => setAddress(e.currentTarget.value)} />}
      </Field>
      <Field label="Display name (optional)" pointer="/displayName" error={action.error}>
        {(a11y) => <input {...a11y} value={displayName} onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <ProblemBox error={action.error} shownPointers={['/smtpAddress', '/displayName']} />
      <button type="submit" disabled={action.busy}>
        Add mailbox
      </button>
    </form>
  );
}

function ImportMailboxes(props: ScreenProps & { group: Schemas['Group']; onImported: () => Promise<void> }): JSX.Element {
  const [text, setText] = useState('');
  const [result, setResult] = useState<Schemas['ImportMailboxesResult']>();
  const action = useAction();
  const readFile = async (event: Event) => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (file) setText(await file.text());
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const ok = await action.run(async () => {
      setResult(await props.api.call('importMailboxes', { params: { tenantId: props.group.tenantId, groupId: props.group.id }, body: { mode: 'upsert', mailboxes: csvToMailboxes(text) } }));
    });
    if (ok) await props.onImported();
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="import-title">
      <h4 id="import-title">Bulk import from CSV</h4>
      <Field label="CSV file" help="A header row with smtpAddress and optionally displayName, userId, enabled; up to 1000 rows. Existing mailboxes are updated.">
        {(a11y) => <input {...a11y} type="file" accept=".csv,text/csv" onChange={readFile} />}
      </Field>
      <Field label="Or paste CSV" pointer="/mailboxes" error={action.error}>
        {(a11y) => <textarea {...a11y} rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder={'smtpAddress,displayName\nalice@contoso.com,Alice Anders'} />}
      </Field>
      <ProblemBox error={action.error} shownPointers={['/mailboxes']} />
      <button type="submit" disabled={action.busy || text.trim() === ''}>
        Import
      </button>
      {result && (
        <div aria-live="polite">
          <Notice kind={result.outcome === 'succeeded' ? 'success' : 'warning'}>
            {result.summary.total} rows: {result.summary.created} created, {result.summary.updated} updated, {result.summary.unchanged} unchanged, {result.summary.failed} failed.
          </Notice>
          {result.results.filter((r) => r.result === 'failed').length > 0 && (
            <ul>
              {result.results
                .filter((r) => r.result === 'failed')
                .map((r) => (
                  <li key={r.index}>
                    Row {r.index + 2}
                    {r.smtpAddress ? ` (${r.smtpAddress})` : ''}: {r.error?.detail}
                    {(r.error?.errors ?? []).map((fe) => ` ${fe.pointer.replace(/^\//, '')}: ${fe.detail}`).join(';')}
                  </li>
                ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
