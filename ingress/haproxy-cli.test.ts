import { describe, expect, it } from 'vitest';
import { answerProblem } from './haproxy-cli.ts';

describe('answerProblem', () => {
  it.each([
    ['set server b0/s1 state ready', '', undefined],
    [
      'set server b0/s1 addr 10.0.0.1 port 80',
      "no need to change the addr, port changed from '1' to '80' by 'stats socket command'",
      undefined,
    ],
    ['set server b0/s9 addr 10.0.0.1 port 80', 'No such server.', 'No such server.'],
    ['set server b0/s1 state ready', 'No such server.', 'No such server.'],
    ['prepare map maps/a.map', 'New version created: 3', undefined],
    [
      'prepare map maps/x.map',
      'Unknown map identifier. Please use #<id> or <file>.',
      'Unknown map identifier. Please use #<id> or <file>.',
    ],
    ['add map @3 maps/a.map <<\nk v\n', '', undefined],
    ['commit ssl cert certs/a.pem', 'Committing certs/a.pem\nSuccess!', undefined],
    ['set ssl cert certs/a.pem <<\nPEM\n', 'Transaction created for certificate certs/a.pem!', undefined],
    ['set ssl cert certs/a.pem <<\nPEM\n', 'unable to load certificate', 'unable to load certificate'],
    [
      'add ssl crt-list certs/list <<\ncerts/a.pem a\n\n',
      "Inserting certificate 'certs/a.pem' in crt-list 'certs/list'.\nSuccess!",
      undefined,
    ],
    ['del ssl cert certs/a.pem', "Certificate 'certs/a.pem' deleted!", undefined],
  ])('%j answered %j', (cmd, answer, problem) => {
    expect(answerProblem(cmd, answer)).toBe(problem);
  });
});
