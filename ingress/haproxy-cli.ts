// A tiny client for HAProxy's runtime API (the admin socket) and master CLI: one command per connection,
// as `socat` does, with a timeout. No retries here: the data-plane edge decides what a failure means.
import { createConnection } from 'node:net';
import { realClock, type Clock } from '../edge/clock.ts';

/** sendCommand sends one command (payload commands included) and resolves with the whole answer. */
export function sendCommand(
  socketPath: string,
  command: string,
  timeoutMs = 5000,
  clock: Clock = realClock,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = clock.setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `HAProxy socket "${socketPath}": no answer to "${firstLine(command)}" within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    sock.on('connect', () => sock.end(command.endsWith('\n') ? command : `${command}\n`));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (err) => {
      timer.cancel();
      reject(new Error(`HAProxy socket "${socketPath}": ${err.message}`, { cause: err }));
    });
    sock.on('close', () => {
      timer.cancel();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** firstLine returns a command's first line, for messages (payloads may hold keys). */
export function firstLine(command: string): string {
  return command.split('\n', 1)[0] ?? '';
}

/**
 * answerProblem tells whether an answer of the runtime API reports a failure. Successful `set server`,
 * `add map`, `commit map` answer nothing; the ssl commands answer with known success phrases.
 */
export function answerProblem(command: string, answer: string): string | undefined {
  const text = answer.trim();
  const verb = firstLine(command);
  const ok = (re: RegExp): string | undefined => (re.test(text) ? undefined : text || 'empty answer');
  // "set server .. addr" reports what it did ("no need to change the addr, port changed from ..").
  if (/^set server \S+ addr /.test(verb)) return ok(/^$|changed|no need to change/);
  if (verb.startsWith('prepare map')) return ok(/New version created: \d+/);
  if (verb.startsWith('new ssl cert')) return ok(/New empty certificate store/);
  if (verb.startsWith('set ssl cert')) return ok(/Transaction (created|updated)/);
  if (verb.startsWith('commit ssl cert')) return ok(/Success!/);
  if (verb.startsWith('add ssl crt-list')) return ok(/Success!/);
  if (verb.startsWith('del ssl crt-list')) return ok(/deleted/);
  if (verb.startsWith('del ssl cert')) return ok(/deleted/);
  return text === '' ? undefined : text;
}
