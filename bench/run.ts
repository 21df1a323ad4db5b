import { benchBorrow } from './borrow';

/** `npm run bench`: every benchmark, one after another, on this machine's loopback. */
async function main(): Promise<void> {
  await benchBorrow();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
