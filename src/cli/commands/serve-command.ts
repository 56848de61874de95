/** `custody serve`: runs the registry until SIGINT/SIGTERM, then shuts down gracefully. */
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import type { CliContext } from '../context.js';

interface ServeOptions {
  data: string;
  config?: string;
  host?: string;
  port?: string;
}

export function registerServe(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('serve')
    .description('run the registry (default: SQLite + a local blob directory in ./custody-data)')
    .option('--data <dir>', 'data directory', process.env.CUSTODY_DATA ?? './custody-data')
    .option('--config <file>', 'YAML configuration file')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'listen port (default 8700)')
    .action((opts: ServeOptions) =>
      run(async () => {
        const out = ctx.output();
        // Loaded on demand: client commands should not pay for the server's modules.
        const [{ loadConfig }, { startRegistry }] = await Promise.all([import('../../config/config.js'), import('../../app/start-registry.js')]);
        const config = await loadConfig(opts.config);
        const port = opts.port === undefined ? undefined : Number(opts.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new CustodyError('USAGE', '--port must be 0–65535');
        const effective = {
          ...config,
          server: { ...config.server, ...(opts.host === undefined ? {} : { host: opts.host }), ...(port === undefined ? {} : { port }) },
        };
        const bootstrap = process.env.CUSTODY_BOOTSTRAP_TOKEN;
        const registry = await startRegistry({
          config: effective,
          dataDir: path.resolve(opts.data),
          ...(bootstrap === undefined || bootstrap === '' ? {} : { bootstrapToken: bootstrap }),
          onBootstrapToken: (token) => {
            // Shown once, on the terminal, never through the structured log.
            process.stderr.write(
              `\nCustody created the admin principal. Its API token is shown only this once:\n\n  ${token}\n\n` +
                `Log in with:  custody login --server ${effective.server.publicUrl ?? `http://${effective.server.host}:${effective.server.port}`} --token <token>\n\n`,
            );
          },
        });
        // Handlers first, then the announcement: whoever reacts to the line may signal at once.
        const stopped = new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            registry.stop().then(resolve, resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        out.note(`custody listening on ${registry.url}`);
        await stopped;
      }),
    );
}
