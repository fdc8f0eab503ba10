// Mocha root hooks: one shared ZooKeeper for the whole run, started on first use and stopped at
// the end. DLOG_TEST_ZK=host:port uses an existing server instead.
import type { Context } from 'mocha';
import { findZooKeeperClasspath, startZooKeeper, type ZooKeeperServer } from '../../src/cli/zookeeper-server.js';

let shared: Promise<ZooKeeperServer> | undefined;
let warned = false;

/**
 * The connect string of the shared ZooKeeper. When none can be found the calling test is skipped
 * with a loud message, except under CI=true where a missing ZooKeeper is a failure.
 */
export async function zooKeeper(ctx: Context): Promise<string> {
  const external = process.env.DLOG_TEST_ZK;
  if (external) return external;
  if (findZooKeeperClasspath() === null) {
    const message = 'ZooKeeper not found (set ZOOKEEPER_HOME, or `apt-get install zookeeper`, or DLOG_TEST_ZK=host:port)';
    if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires it`);
    if (!warned) {
      warned = true;
      process.stderr.write(`\n!!! ${message}: ZooKeeper-backed tests are SKIPPED !!!\n\n`);
    }
    // a missing ZooKeeper outside CI: reported as skipped (see the message above), not as passed
    ctx.skip();
  }
  shared ??= startZooKeeper({ forceSync: false });
  return (await shared).connectString;
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (shared) await (await shared).stop();
  },
};
