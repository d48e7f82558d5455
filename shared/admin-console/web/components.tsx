/**
 * Building blocks shared by the screens. Everything from the API is rendered as text through
 * JSX (preact escapes it); nothing here sets HTML from data, so hostile names stay text.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, coversPointer, type ApiClient } from './api';

export interface ScreenProps {
  readonly api: ApiClient;
}

export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'error'; readonly error: ApiError } | { readonly state: 'ready'; readonly value: T };

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError({ type: 'about:blank', title: 'Something went wrong', status: 0, detail: error instanceof Error ? error.message : String(error) });
}

/** Loads with `load` whenever `key` changes; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, key: readonly unknown[]): [Loaded<T>, () => Promise<void>] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    try {
      setLoaded({ state: 'ready', value: await loadRef.current() });
    } catch (error) {
      setLoaded({ state: 'error', error: asApiError(error) });
    }
  }, []);
  useEffect(() => {
    setLoaded({ state: 'loading' });
    void reload();
  }, key);
  return [loaded, reload];
}

export function Show<T>(props: { loaded: Loaded<T>; what: string; children: (value: T) => ComponentChildren }): JSX.Element {
  if (props.loaded.state === 'loading') return <p role="status">Loading {props.what}…</p>;
  if (props.loaded.state === 'error') return <ProblemBox error={props.loaded.error} />;
  return <>{props.children(props.loaded.value)}</>;
}

/** The problem's title and detail, and any field errors not shown next to an input. */
export function ProblemBox(props: { error: ApiError | undefined; shownPointers?: readonly string[] }): JSX.Element | null {
  const { error } = props;
  if (!error) return null;
  const others = (error.problem.errors ?? []).filter((e) => !(props.shownPointers ?? []).some((field) => coversPointer(field, e.pointer)));
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{error.problem.title}</strong>
        {error.problem.detail ? ` — ${error.problem.detail}` : ''}
      </p>
      {others.length > 0 && (
        <ul>
          {others.map((e) => (
            <li key={e.pointer}>
              <code>{e.pointer || '(request)'}</code>: {e.detail}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

let nextId = 0;
function useId(prefix: string): string {
  const ref = useRef<string | undefined>(undefined);
  ref.current ??= `${prefix}-${++nextId}`;
  return ref.current;
}

/** A labelled input with help text and the API's error for its JSON pointer right below it. */
export function Field(props: { label: string; help?: string; pointer?: string; error?: ApiError | undefined; children: (a11y: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ComponentChildren }): JSX.Element {
  const id = useId('field');
  const message = props.pointer ? props.error?.fieldError(props.pointer) : undefined;
  const describedBy = [props.help ? `${id}-help` : '', message ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={message ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.children({ id, ...(describedBy ? { 'aria-describedby': describedBy } : {}), ...(message ? { 'aria-invalid': true } : {}) })}
      {props.help && (
        <p class="help" id={`${id}-help`}>
          {props.help}
        </p>
      )}
      {message && (
        <p class="field-error" id={`${id}-error`}>
          {message}
        </p>
      )}
    </div>
  );
}

export function formatTime(value: string | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

const STATUS_WORDS: Record<string, string> = {
  pending: 'Pending',
  ok: 'OK',
  error: 'Error',
  needsReauthentication: 'Needs re-authentication',
  disabled: 'Disabled',
  active: 'Active',
  suspended: 'Suspended',
  passed: 'Passed',
  failed: 'Failed',
  skipped: 'Skipped',
  warning: 'Warning',
  granted: 'Consent granted',
  refused: 'Consent refused',
  notRequested: 'Consent not requested',
  accepted: 'Accepted',
  revoked: 'Revoked',
  expired: 'Expired',
};

export function StatusBadge(props: { status: string }): JSX.Element {
  return <span class={`badge badge-${props.status}`}>{STATUS_WORDS[props.status] ?? props.status}</span>;
}

/** Runs an action, keeping its error for the form. */
export function useAction(): { busy: boolean; error: ApiError | undefined; run: (action: () => Promise<void>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = async (action: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(asApiError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

export function Notice(props: { kind: 'info' | 'warning' | 'success'; children: ComponentChildren }): JSX.Element {
  return (
    <div class={`notice notice-${props.kind}`} role={props.kind === 'warning' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** Hash routes: #/tenants/{id}/groups/{id}/mailboxes. */
export function href(...segments: readonly string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

export type StatusFilterValue = 'all' | 'errors' | 'ok';

/** The product's "All / With errors / Without errors" choice, for mailboxes and delegated users alike. */
export function StatusFilter(props: { name: string; value: StatusFilterValue; onChange: (value: StatusFilterValue) => void }): JSX.Element {
  const choices: [StatusFilterValue, string][] = [
    ['all', 'All'],
    ['errors', 'With errors'],
    ['ok', 'Without errors'],
  ];
  return (
    <fieldset class="filter">
      <legend>Show</legend>
      {choices.map(([value, label]) => (
        <span class="choice" key={value}>
          <input type="radio" id={`${props.name}-${value}`} name={props.name} checked={props.value === value} onChange={() => props.onChange(value)} />
          <label for={`${props.name}-${value}`}>{label}</label>
        </span>
      ))}
    </fieldset>
  );
}

/** A data table: columns with header cells, a caption for screen readers, scrolling inside its own box. */
export function Table(props: { caption: string; columns: readonly string[]; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** Section tabs as links (each is a page: the back button and bookmarks work); the current one is marked for screen readers. */
export function Tabs(props: { label: string; current: string; links: readonly (readonly [key: string, href: string, text: string])[] }): JSX.Element {
  return (
    <nav aria-label={props.label} class="tabs">
      {props.links.map(([key, target, text]) => (
        <a key={key} href={target} aria-current={props.current === key ? 'page' : undefined}>
          {text}
        </a>
      ))}
    </nav>
  );
}
