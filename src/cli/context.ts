/**
 * What every command gets: the output mode from the global flags and a client configured from
 * --server/--token, CUSTODY_SERVER/CUSTODY_TOKEN, then the saved login (in that order).
 */
import type { Command } from 'commander';
import { CustodyClient } from '../sdk/custody-client.js';
import { DEFAULT_SERVER, readClientConfig } from './client-config.js';
import { Output, type GlobalOptions } from './output.js';
import { CUSTODY_VERSION } from '../version.js';

export class CliContext {
  constructor(private readonly program: Command) {}

  get options(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  output(): Output {
    return new Output(this.options.json === true, this.options.quiet === true);
  }

  async connection(): Promise<{ server: string; token: string | undefined }> {
    const saved = await readClientConfig();
    const env = process.env;
    const server = this.options.server ?? nonEmpty(env.CUSTODY_SERVER) ?? saved.server ?? DEFAULT_SERVER;
    const token = this.options.token ?? nonEmpty(env.CUSTODY_TOKEN) ?? saved.token;
    return { server, token };
  }

  /** Runs `fn` with a client and closes the client afterwards, whatever happens. */
  async withClient<T>(fn: (client: CustodyClient) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  async client(): Promise<CustodyClient> {
    const { server, token } = await this.connection();
    return new CustodyClient({ server, ...(token === undefined ? {} : { token }), userAgent: `custody-cli/${CUSTODY_VERSION}` });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
