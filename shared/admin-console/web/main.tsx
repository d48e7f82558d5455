/**
 * The console's entry point: read the sign-in settings the Functions app serves, complete a
 * sign-in redirect if one is coming back, then show the console or the sign-in page.
 */
import { render, type JSX } from 'preact';
import { createApiClient } from './api';
import { App } from './app';
import { redirectUri, startAuth, type ConsoleConfig } from './auth';
import './styles.css';

function SignIn(props: { signIn: () => Promise<void> }): JSX.Element {
  return (
    <main id="main" class="signin">
      <h1>Exchange Connector admin</h1>
      <p>Sign in with your organisation account. Operators (Connector.Admin) see every tenant; tenant administrators see their own tenants.</p>
      <button type="button" onClick={() => void props.signIn()}>
        Sign in
      </button>
    </main>
  );
}

function Failure(props: { title: string; detail: string }): JSX.Element {
  return (
    <main id="main" class="signin">
      <h1>{props.title}</h1>
      <p role="alert">{props.detail}</p>
      <p>
        <a href={redirectUri()}>Try again</a>
      </p>
    </main>
  );
}

async function boot(root: HTMLElement): Promise<void> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string };
    render(<Failure title={problem.title ?? 'The admin console is not available'} detail={problem.detail ?? `config.json answered ${response.status}.`} />, root);
    return;
  }
  const config = (await response.json()) as ConsoleConfig;
  const auth = await startAuth(config);
  const user = auth.signedIn;
  if (!user) {
    render(<SignIn signIn={auth.signIn} />, root);
    return;
  }
  if (!window.location.hash.startsWith('#/')) window.history.replaceState(null, '', '#/tenants');
  render(<App api={createApiClient(config.apiBase, () => user.token())} user={user} />, root);
}

const root = document.getElementById('app');
if (root) {
  boot(root).catch((error: unknown) => {
    render(<Failure title="Sign-in failed" detail={error instanceof Error ? error.message : String(error)} />, root);
  });
}
