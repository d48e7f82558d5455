import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { ProblemBox, formatTime, useAction, useLoad, Show, type ScreenProps } from '../components';

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
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Audit log, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Who</th>
                      <th scope="col">Action</th>
                      <th scope="col">Target</th>
                      <th scope="col">Details</th>
                    </tr>
                  </thead>
                  <tbody>
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
                  </tbody>
                </table>
              </div>
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
