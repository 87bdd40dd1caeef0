import { commaList, loadConfig, redactedUrl } from '../../platform/config.ts';
import { serviceSettingNames } from '../../services/index.ts';

/** `flamingo start`: runs Flamingo in the foreground until SIGINT/SIGTERM. */
export async function runStart(options: { services?: string }): Promise<void> {
  const env = options.services === undefined ? process.env : { ...process.env, FLAMINGO_SERVICES: commaList(options.services).join(',') };
  const config = loadConfig(env, process.cwd(), serviceSettingNames());
  // Loaded after the configuration is checked, so a bad one is reported without loading the server.
  const { startFlamingo } = await import('../flamingo.ts');
  const running = await startFlamingo(config);

  const listening = config.host === '0.0.0.0' || config.host === '::' ? `${config.host}:${running.port} (${running.url})` : running.url;
  const key = running.adminKey;
  const keyLine =
    key.origin === 'env'
      ? 'admin key: from FLAMINGO_ADMIN_KEY'
      : `admin key: ${key.value} (${key.origin === 'generated' ? 'generated, ' : ''}stored in ${key.file}, mode 0600)`;
  // To stderr: stdout carries the log, one JSON record a line, for log collectors.
  console.error(
    [
      `flamingo listening on ${listening}`,
      `engine: ${config.engine.kind === 'sqlite' ? `sqlite (${config.dataDir}/bus.db)` : config.engine.kind === 'nats' ? `nats (${config.engine.servers.join(',')})` : `redis (${redactedUrl(config.engine.url)})`}`,
      `services: ${running.services.join(', ') || 'none'}`,
      `API: ${running.served.length > running.services.length ? "every service's routes (their reactions and workers run where they are in --services)" : 'the routes of these services'}`,
      keyLine,
      `API docs: ${running.url}/docs`,
    ].join('\n'),
  );

  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      console.error(`flamingo: ${signal} again, exiting now`);
      process.exit(1);
    }
    console.error(`flamingo: ${signal}, shutting down (send it again to force)`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`flamingo: shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
