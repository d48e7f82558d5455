import { runAlerts } from '../shared/alerts/alerts';
import { alertDependencies } from '../shared/alerts/alerts-composition';
import { invocationLogger } from '../shared/logging';
import { defineTimerFunction } from '../shared/runtime/function-registry';

// Hourly, at minute 5 (away from the every-minute sync scheduler's busiest second): credential
// expiry and persistent mailbox failure notices, each sent once (shared/alerts).
defineTimerFunction('send-alerts', {
  schedule: '0 5 * * * *',
  handler: async (_timer, context) => {
    const log = invocationLogger(context);
    const summary = await runAlerts(alertDependencies(log));
    log.debug('Alerts checked', { ...summary });
  },
});
