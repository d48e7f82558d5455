import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { ProblemBox, formatTime, useAction, useLoad, Show, type ScreenProps, Table } from '../components';

export function AuditLog(props: ScreenProps & { tenantId: string }): JSX.Element {
  const [first] = useLoad(() => props.api.call('listAuditEntries', { params: { tenantId: props.tenantId }, query: { limit: 50 } }), [props.tenantId]);
  const [more, setMore] = useState<{ items: Schemas['AuditEntry'][]; continuationToken?: string }>();
  const action = useAction();
  return (
    <>
      <h2>Audit log</h2>
      <Show loaded={first} what="the audit log">
        {(page) => {
          const items = [...page.items, ...(more?.items ?? [])];
          const token = more ? more.continuationToken : page.continuationToken;
          const loadMore = () =>
            action.run(async () => {
              const next = await props.api.call('listAuditEntries', { params: { tenantId: props.tenantId }, query: { limit: 50, ...(token ? { continuationToken: token } : {}) } });
              setMore({ items: [...(more?.items ?? []), ...next.items], ...(next.continuationToken ? { continuationToken: next.continuationToken } : {}) });
            });
          return items.length === 0 ? (
            <p>Nothing recorded yet.</p>
          ) : (
            <>
              <Table caption="Audit log, newest first" columns={['When', 'Who', 'Action', 'Target', 'Details']}>
                    {items.map((entry) => (
                      <tr key={entry.id}>
                        <td>{formatTime(entry.at)}</td>
                        <td>{entry.actor.name}</td>
                        <td>{entry.action}</td>
                        <td class="wrap">{entry.target}</td>
                        <td class="wrap">
                          {Object.entries(entry.details)
                            .map(([k, v]) => `${k}: ${String(v)}`)
                            .join('; ')}
                        </td>
                      </tr>
                    ))}
                  </Table>
              {token && (
                <button type="button" onClick={loadMore} disabled={action.busy}>
                  Load older entries
                </button>
              )}
              <ProblemBox error={action.error} />
            </>
          );
        }}
      </Show>
    </>
  );
}
