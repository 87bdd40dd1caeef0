/**
 * `flamingo`: runs the server and talks to a running one (publish, tail, subscriptions, dead
 * letters, keys, the warehouse) or checks the catalog offline. Exit codes: 0 done, 1 failed, 2 bad usage or configuration.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../platform/config.ts';
import { HttpError, defaultUrl } from './cli/client.ts';
import { registerSimulateCommand } from '../../tools/simulate/command.ts';
import { UsageError } from './cli/output.ts';
import { VERSION } from './version.ts';

// Each command loads its module when run, so `flamingo catalog check` never loads the server.
const cli = {
  catalog: () => import('./cli/catalog.ts'),
  deadLetters: () => import('./cli/dead-letters.ts'),
  keys: () => import('./cli/keys.ts'),
  publish: () => import('./cli/publish.ts'),
  start: () => import('./cli/start.ts'),
  subscriptions: () => import('./cli/subscriptions.ts'),
  tail: () => import('./cli/tail.ts'),
  targets: () => import('./cli/targets.ts'),
  warehouse: () => import('./cli/warehouse.ts'),
};

/** `--url` and `--key` for commands that talk to a running Flamingo. */
function remote(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'where Flamingo runs (env FLAMINGO_URL)').default(undefined, defaultUrl()))
    .addOption(new Option('--key <key>', 'API key (env FLAMINGO_KEY, FLAMINGO_ADMIN_KEY, or <FLAMINGO_DATA_DIR>/admin.key)'));
}

export function buildProgram(): Command {
  const program = new Command('flamingo')
    .description('Flamingo: a typed event backbone for commerce.')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('start')
    .description('run Flamingo: engine, collector, admin API and services (configured by environment, see README)')
    .option('--services <names>', "comma list of the services whose reactions and workers run in this process; with DATABASE_URL every process serves every service's routes (env FLAMINGO_SERVICES; default all)")
    .action(async (options: { services?: string }) => (await cli.start()).runStart(options));

  remote(
    program
      .command('publish')
      .description('publish one event to a running Flamingo')
      .argument('<type>', 'catalog event type or alias, e.g. order.placed')
      .requiredOption('--data <json>', 'the event data as JSON')
      .option('--id <id>', 'event id (send one to make retries safe; default a new UUIDv7)')
      .option('--subject <subject>', 'subject (default derived from the catalog key)')
      .option('--source <source>', 'source URI reference', '/cli')
      .option('--time <time>', 'when it happened, RFC 3339 (default now)'),
  ).action(async (type: string, options) => (await cli.publish()).runPublish(type, options));

  remote(
    program
      .command('tail')
      .description('print events as they are stored, until interrupted (needs the admin key)')
      .option('--type <patterns>', 'only these types or patterns, comma-separated (order.*,payment.failed)')
      .option('--from <where>', 'now, beginning, a sequence number or an RFC 3339 time', 'now')
      .option('--json', 'print each event as one JSON line')
      .option('--interval <ms>', 'poll interval', '500')
      .option('--count <n>', 'stop after n events'),
  ).action(async (options) => {
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    await (await cli.tail()).runTail(options, controller.signal);
  });

  remote(program.command('subscriptions').description('list subscriptions: position, lag, in-flight, retrying, dead letters').option('--json', 'print JSON')).action(
    async (options) => (await cli.subscriptions()).runSubscriptions(options),
  );

  const deadLetters = program.command('dead-letters').description('list, retry or discard the dead letters of a subscription');
  remote(
    deadLetters.command('list').description('list dead letters').argument('<subscription>').option('--limit <n>', 'at most n', '100').option('--json', 'print JSON'),
  ).action(async (subscription: string, options) => (await cli.deadLetters()).runDeadLettersList(subscription, options));
  remote(
    deadLetters
      .command('retry')
      .description('deliver dead letters again as first attempts')
      .argument('<subscription>')
      .argument('[eventId]', 'one dead letter')
      .option('--all', 'every dead letter of the subscription'),
  ).action(async (subscription: string, eventId: string | undefined, options) => (await cli.deadLetters()).runDeadLettersRetry(subscription, eventId, options));
  remote(
    deadLetters
      .command('discard')
      .description('delete dead letters')
      .argument('<subscription>')
      .argument('[eventId]', 'one dead letter')
      .option('--all', 'every dead letter of the subscription'),
  ).action(async (subscription: string, eventId: string | undefined, options) => (await cli.deadLetters()).runDeadLettersDiscard(subscription, eventId, options));

  const targets = program.command('targets').description('delivery targets: webhooks and rate-limited APIs that get events pushed');
  remote(
    targets
      .command('add')
      .description('add a target; prints its signing secret once')
      .argument('<url>', 'http(s) URL the events are POSTed to')
      .requiredOption('--types <patterns>', "event types or patterns, comma-separated: 'order.*,payment.failed'")
      .option('--name <name>', 'a name to know it by (default: the URL host)')
      .option('--rate <rate>', 'requests per interval: 2/s, 40/1500ms, 120/min (default 10/s)')
      .option('--burst <n>', 'requests at once after a quiet time, the bucket size (default: the rate\'s requests)')
      .option('--timeout <ms>', 'a reply later than this is a failure (default 5000)')
      .option('--in-flight <n>', 'requests in flight at once per process (default 4)')
      .addOption(new Option('--ordering <ordering>', 'per-key order or none (fastest)').choices(['key', 'none']))
      .option('--binary', 'CloudEvents binary mode: data as the body, attributes as ce- headers')
      .option('--header <header...>', "extra request header, 'Name: value' (repeatable)")
      .option('--from <where>', 'now, beginning, a sequence number or an RFC 3339 time (default now)')
      .option('--secret <secret>', 'signing secret whsec_… (default: generated)')
      .option('--json', 'print JSON'),
  ).action(async (url: string, options) => (await cli.targets()).runTargetsAdd(url, options));
  remote(targets.command('list').description('list targets').option('--json', 'print JSON')).action(async (options) => (await cli.targets()).runTargetsList(options));
  remote(targets.command('show').description('a target with its limiter, circuit and signing state (JSON)').argument('<id>')).action(
    async (id: string, options) => (await cli.targets()).runTargetsShow(id, options),
  );
  for (const action of ['pause', 'resume'] as const) {
    remote(targets.command(action).description(action === 'pause' ? 'stop pushing to a target (events wait in the log)' : 'push again to a paused or disabled target').argument('<id>')).action(
      async (id: string, options) => (await cli.targets()).runTargetsSetStatus(id, action, options),
    );
  }
  remote(targets.command('remove').description('remove a target and its attempt log').argument('<id>')).action(async (id: string, options) => (await cli.targets()).runTargetsRemove(id, options));
  remote(targets.command('rotate-secret').description('new signing secret; the old one signs beside it for the grace period').argument('<id>').option('--grace <seconds>', 'how long the old secret still signs')).action(
    async (id: string, options) => (await cli.targets()).runTargetsRotate(id, options),
  );
  remote(
    targets
      .command('attempts')
      .description("a target's attempt log, newest first")
      .argument('<id>')
      .option('--event <id>', 'attempts for one event')
      .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(['delivered', 'retrying', 'throttled', 'failed']))
      .option('--since <time>', 'started at or after, RFC 3339')
      .option('--until <time>', 'started before, RFC 3339')
      .option('--limit <n>', 'at most n', '50')
      .option('--json', 'print JSON'),
  ).action(async (id: string, options) => (await cli.targets()).runTargetsAttempts(id, options));

  const keys = program.command('keys').description('producer keys, scoped to the producer and event types they may publish; analyst keys, which read the warehouse');
  remote(
    keys
      .command('create')
      .description('create a producer key (printed once; a type a Flamingo service produces needs --producer), or an analyst key (--role analyst)')
      .option('--producer <producer>', 'the catalog producer it publishes for, e.g. orders or webshop (default: none, only types anyone may publish)')
      .option('--types <patterns>', "event type patterns it may publish: 'order.*,cart.item_added' or '*' (default with --producer: '*')")
      .option('--name <name>', 'who uses it, e.g. webshop')
      .option('--role <role>', 'producer (publishes events) or analyst (reads the warehouse, nothing else)', 'producer')
      .option('--json', 'print JSON'),
  ).action(async (options) => (await cli.keys()).runKeysCreate(options));
  remote(keys.command('list').description('list producer keys').option('--json', 'print JSON')).action(async (options) => (await cli.keys()).runKeysList(options));
  remote(keys.command('revoke').description('revoke a producer key at once').argument('<id>')).action(async (id: string, options) => (await cli.keys()).runKeysRevoke(id, options));

  const warehouse = program.command('warehouse').description("the data team's warehouse: read-only SQL, rebuild from the log, Parquet export");
  remote(
    warehouse
      .command('sql')
      .description('run one read-only SQL statement (an analyst key or the admin key)')
      .argument('<query>', 'e.g. "SELECT * FROM daily_sales ORDER BY day"')
      .option('--format <format>', 'table, csv or json', 'table'),
  ).action(async (query: string, options) => (await cli.warehouse()).runWarehouseSql(query, options));
  remote(warehouse.command('rebuild').description('drop the warehouse and land every event of the log again, with progress (admin key)')).action(async (options) =>
    (await cli.warehouse()).runWarehouseRebuild(options),
  );
  remote(
    warehouse
      .command('export')
      .description('write every event as Parquet files, Hive-partitioned by event type and date (an analyst key or the admin key)')
      .requiredOption('--out <dir>', 'a new or empty directory'),
  ).action(async (options) => (await cli.warehouse()).runWarehouseExport(options));

  const catalog = program.command('catalog').description('the event catalog');
  catalog
    .command('check')
    .description(
      'hold the catalog to the released snapshot, to what every consumer declares it reads (code, contract files, --server) and each type to its kind; exit 1 naming each breaking change and consumer',
    )
    .option('--against <snapshot.json>', 'the snapshot of the last release (without it: consumers and kinds only)')
    .option('--contracts <dir>', 'folder of consumer contract files (*.json)', 'contracts')
    .option('--server <url>', 'also the contracts registered on this running Flamingo (delivery targets, POST /v1/contracts)')
    .option('--key <key>', 'admin key for --server (default: FLAMINGO_ADMIN_KEY or the data dir admin.key)')
    .option('--json', 'print JSON')
    .action(async (options: { against?: string; contracts?: string; server?: string; key?: string; json?: boolean }) => {
      process.exitCode = await (await cli.catalog()).runCatalogCheck(options);
    });
  catalog
    .command('snapshot')
    .description('print (or write) the catalog snapshot to keep with a release')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: { out?: string }) => (await cli.catalog()).runCatalogSnapshot(options));

  registerSimulateCommand(program);

  return program;
}

/** Runs the CLI; resolves to the exit code unless a command keeps running (start, tail). */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    }
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`invalid configuration: ${problem}`);
      return 2;
    }
    if (error instanceof UsageError) {
      console.error(`flamingo: ${error.message}`);
      return 2;
    }
    if (error instanceof HttpError) {
      for (const line of error.lines()) console.error(line);
      return 1;
    }
    console.error(`flamingo: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

const code = await main();
if (code !== 0) process.exit(code);
