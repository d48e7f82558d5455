/**
 * node dist/dev/webhook-receiver/main.js [--port 8446]
 * The signing secret comes from WEBHOOK_SIGNING_SECRET (the value the rotate endpoint showed once).
 */
import { startWebhookReceiver } from './receiver';

async function main(): Promise<void> {
  const portIndex = process.argv.indexOf('--port');
  const port = portIndex > 0 ? Number(process.argv[portIndex + 1]) : 8446;
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret) {
    console.error('Set WEBHOOK_SIGNING_SECRET to the secret shown by POST /api/admin/tenants/{t}/groups/{g}/delivery/signing-key.');
    process.exit(2);
  }
  const receiver = await startWebhookReceiver({ port, secret });
  console.log(`webhook receiver listening on ${receiver.url} (GET ${receiver.url}received lists what arrived)`);
  const stop = () => void receiver.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
