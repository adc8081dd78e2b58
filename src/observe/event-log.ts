// Operational events (not requests): warnings an operator should see, such as a permanent URL
// whose body does not match its cacheID. JSON lines on stderr, like the access log on stdout.
import pino, { type Logger } from 'pino';

export type EventLog = Pick<Logger, 'warn' | 'error' | 'info'>;

export function createEventLog(enabled = true): EventLog {
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, enabled }, pino.destination({ dest: 2, sync: false }));
}
