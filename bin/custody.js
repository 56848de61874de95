#!/usr/bin/env node
// Entry point of the `custody` command: runs the compiled CLI (built by `npm run build`, which
// `npm ci` runs through the `prepare` script).
// libuv's default of 4 threads serialises file I/O behind fsyncs when many small files move at
// once; it must be set before the thread pool first starts, hence before loading the CLI.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
