/**
 * Set by a launcher on the processes it starts, whose stdin is then a pipe
 * from the launcher: end of input means the launcher is gone (exited, killed,
 * even by SIGKILL), and the child stops as if it got SIGTERM. No site or
 * gateway outlives the launcher that started it.
 */
export const PARENT_PIPE_ENV = 'LIBFED_PARENT_PIPE';

/**
 * The end of a LibFed process: on SIGTERM or SIGINT (or, under a launcher, the
 * launcher going away), `stop` runs once (a second signal while it runs
 * changes nothing), then the process exits 0. A stop that fails exits 1 with
 * the reason on stderr.
 */
export function exitOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(`stopping failed: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (process.env[PARENT_PIPE_ENV] === '1') {
    process.stdin.on('end', onSignal);
    process.stdin.on('error', onSignal);
    process.stdin.resume();
  }
}

/**
 * The node flags that run one of the project's TypeScript entry points as it
 * is (there is no build step): how a launcher starts a site or a gateway, and
 * how a site starts the short-lived process that prepares its database.
 */
export const TYPESCRIPT_NODE_ARGS: readonly string[] = ['--import', 'tsx'];
