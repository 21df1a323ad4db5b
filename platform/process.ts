/**
 * The end of a LibFed process: on SIGTERM or SIGINT, `stop` runs once (a second
 * signal while it runs changes nothing), then the process exits 0. A stop that
 * fails exits 1 with the reason on stderr.
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
}
