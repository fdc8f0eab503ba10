// Mocha root hooks: one shared ZooKeeper for the whole run, started on first use and stopped at
// the end. DLOG_TEST_ZK=host:port uses an existing server instead.
import type { Context } from 'mocha';
import { findZooKeeperClasspath, startZooKeeper, type ZooKeeperServer } from '../../src/cli/zookeeper-server.js';
import { skipWithout } from './skip.js';

let shared: Promise<ZooKeeperServer> | undefined;

/**
 * The connect string of the shared ZooKeeper. When none can be found the calling test is skipped
 * with a loud message, except under CI=true where a missing ZooKeeper is a failure.
 */
export async function zooKeeper(ctx: Context): Promise<string> {
  const external = process.env.DLOG_TEST_ZK;
  if (external) return external;
  if (findZooKeeperClasspath() === null) {
    const message = 'ZooKeeper not found (set ZOOKEEPER_HOME, or `apt-get install zookeeper`, or DLOG_TEST_ZK=host:port)';
    skipWithout(ctx, message, 'ZooKeeper-backed tests');
  }
  shared ??= startZooKeeper({ forceSync: false });
  return (await shared).connectString;
}

/** Handles that belong to the test runner itself (its output streams), not to a test. */
const RUNNER_RESOURCES = new Set(['TTYWrap', 'PipeWrap', 'CloseReq']);

function leakedResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => !RUNNER_RESOURCES.has(r));
}

export const mochaHooks = {
  afterAll: [
    async function stopZooKeeper(): Promise<void> {
      if (shared) await (await shared).stop();
    },
    // every test closes what it opens: a timer, socket or child left behind fails the run (the
    // process would otherwise hang, as mocha does not force an exit); closes in flight get 5 s
    async function failOnLeakedHandles(this: Context): Promise<void> {
      // mocha arms this hook's timeout once the hook returns its promise: that timer is no leak
      // (the wait below is bounded anyway)
      await new Promise((resolve) => { setImmediate(resolve); });
      this.runnable().clearTimeout();
      const deadline = Date.now() + 5000;
      while (leakedResources().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const leaked = leakedResources();
      if (leaked.length > 0) throw new Error(`handles left open after the tests: ${leaked.join(', ')} (find the test with npx mocha --no-exit FILE)`);
    },
  ],
};
