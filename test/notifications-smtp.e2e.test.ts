/**
 * Email through a real SMTP receiver (npm `smtp-server`, parsed by `mailparser`): while the mail
 * server is down the inbox fills and nothing is lost; then the Flamingo process is killed with
 * SIGKILL in the middle of an SMTP transaction and restarted, and the receiver ends up with exactly
 * one email per notification, each with its stable Message-ID, a text and an HTML part, and the
 * link to the customer hub.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, expect, it } from 'vitest';
import { freePort, startServerProcess, type ServerProcess } from './support/process.ts';
import { waitUntil } from './support/service-server.ts';

const ADMIN_KEY = 'smtp-test-admin-key-0123456789';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-smtp-'));
let current: ServerProcess | undefined;
let smtp: SMTPServer | undefined;
afterAll(async () => {
  current?.child.kill('SIGKILL');
  await current?.exited;
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  rmSync(dataDir, { recursive: true, force: true });
});

it('sends exactly one email per notification across a mail server outage and a SIGKILL mid-send', { timeout: 90_000 }, async () => {
  const [port, smtpPort] = [await freePort(), await freePort()];
  const env = {
    FLAMINGO_DATA_DIR: dataDir,
    FLAMINGO_ADMIN_KEY: ADMIN_KEY,
    FLAMINGO_TOKEN_SECRET: 'smtp-test-token-secret-0123456789abcdef',
    FLAMINGO_SERVICES: 'users,notifications,hub',
    FLAMINGO_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    FLAMINGO_SMTP_TIMEOUT_MS: '2000',
    FLAMINGO_MAIL_FROM: 'Flamingo Shop <hello@shop.example.test>',
    FLAMINGO_PUBLIC_URL: 'https://shop.example.test',
    LOG_LEVEL: 'error',
  };
  current = await startServerProcess(env, port);
  const url = current.url;
  const call = async (method: string, route: string, key: string | null, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  // The mail server is down: a customer signs up and two payments fail.
  const email = 'grace@example.test';
  const signUp = await call('POST', '/v1/users', null, { email, name: 'Grace Hopper', password: 'correct horse battery' });
  expect(signUp.status).toBe(201);
  const userId = signUp.body.id as string;
  const paymentsKey = (await call('POST', '/v1/keys', ADMIN_KEY, { producer: 'payments' })).body.key as string;
  const orderIds = [uuidv7(), uuidv7()];
  for (const orderId of orderIds) {
    const failed = { specversion: '1.0', id: uuidv7(), source: '/payments', type: 'payment.failed', data: { orderId, userId, error: 'card declined' } };
    expect((await call('POST', '/v1/events', paymentsKey, failed, 'application/cloudevents+json')).status).toBe(202);
  }
  const login = async () => (await call('POST', '/v1/auth/login', null, { email, password: 'correct horse battery' })).body.token as string;
  const inbox = async (token: string) => (await call('GET', '/v1/me/notifications', token)).body.notifications as { id: string; sourceType: string; link: string }[];
  // The inbox does not wait for mail.
  const notifications = await waitUntil(async () => {
    const found = await inbox(await login());
    return found.length === 3 ? found : undefined;
  }, 20_000, 'three notifications in the inbox');

  // The mail server comes up and holds every transaction at RCPT TO; the process dies with all
  // three sends in the middle of their SMTP transactions.
  const received: ParsedMail[] = [];
  let holding = true;
  let held = 0;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (holding) held++;
      else callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  // The SIGKILL below resets the held connections; the receiver reports that as an error event.
  const unexpected: Error[] = [];
  smtp.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET') unexpected.push(error);
  });
  await new Promise<void>((resolve) => smtp!.listen(smtpPort, '127.0.0.1', resolve));
  await waitUntil(async () => (held === 3 ? true : undefined), 30_000, 'three sends in progress');
  current.child.kill('SIGKILL');
  await current.exited;
  holding = false;

  current = await startServerProcess(env, port);
  await waitUntil(async () => (received.length >= 3 ? true : undefined), 45_000, 'three emails');
  await sleep(1_500); // anything more would be a duplicate
  expect(received).toHaveLength(3);
  expect(unexpected).toEqual([]);

  const byMessageId = new Map(received.map((mail) => [mail.messageId, mail]));
  expect(byMessageId.size).toBe(3);
  for (const notification of notifications) {
    const mail = byMessageId.get(`<${notification.id}@shop.example.test>`);
    expect(mail, notification.sourceType).toBeDefined();
    expect(mail!.from).toMatchObject({ value: [{ name: 'Flamingo Shop', address: 'hello@shop.example.test' }] });
    expect(mail!.to).toMatchObject({ value: [{ name: 'Grace Hopper', address: email }] });
    expect(mail!.headers.get('x-flamingo-notification')).toBe(notification.id);
    const link = `https://shop.example.test${notification.link}`;
    expect(mail!.text).toContain(link);
    expect(mail!.html).toContain(`href="${link}"`);
  }
  const failedMail = [...byMessageId.values()].filter((mail) => mail.subject?.startsWith('Payment for order'));
  expect(failedMail).toHaveLength(2);
  expect(failedMail[0].text).toContain('card declined');
  expect([...byMessageId.values()].map((m) => m.subject)).toContain('Welcome to Flamingo, Grace Hopper');
});
