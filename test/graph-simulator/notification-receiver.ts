/**
 * A notification endpoint for simulator tests: answers Graph's validation handshake (or not, or
 * wrongly, or late, as a test asks), records every notification POST, and can fail deliveries.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen } from '../../dev/server-lifecycle';

export interface ReceivedNotification {
  readonly path: string;
  readonly body: { value: Record<string, unknown>[] };
  readonly at: number;
}

export interface NotificationReceiver {
  readonly url: string;
  readonly received: ReceivedNotification[];
  /** 'echo' (default), 'wrong', 'json', 'slow' (answers after slowInMs), or a status to answer. */
  validation: 'echo' | 'wrong' | 'json' | 'slow' | number;
  /** Status for notifications (default 202); 'slow' answers after slowInMs. */
  notifications: number | 'slow';
  slowInMs: number;
  close(): Promise<void>;
}

export async function startNotificationReceiver(): Promise<NotificationReceiver> {
  const receiver = {
    url: '',
    received: [] as ReceivedNotification[],
    validation: 'echo' as NotificationReceiver['validation'],
    notifications: 202 as NotificationReceiver['notifications'],
    slowInMs: 2_000,
    close: async (): Promise<void> => undefined,
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = url.searchParams.get('validationToken');
      const answer = (status: number, body: string, type: string) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (token !== null) {
        const mode = receiver.validation;
        if (mode === 'echo') return answer(200, token, 'text/plain');
        if (mode === 'wrong') return answer(200, 'not the token', 'text/plain');
        if (mode === 'json') return answer(200, token, 'application/json');
        if (mode === 'slow') return void setTimeout(() => answer(200, token, 'text/plain'), receiver.slowInMs);
        return answer(mode, '', 'text/plain');
      }
      receiver.received.push({ path: url.pathname, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{"value":[]}'), at: Date.now() });
      if (receiver.notifications === 'slow') return void setTimeout(() => answer(202, '', 'text/plain'), receiver.slowInMs);
      answer(receiver.notifications, '', 'text/plain');
    });
  });
  await listen(server, 0, '127.0.0.1');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => closeServer(server);
  return receiver;
}
