// Waiting for a condition instead of sleeping for a guessed time: polls `condition` (sync or async)
// until it holds, failing with `what` after `timeoutMs`. Resolves with the time it took.
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'the condition'): Promise<number> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - start;
}

/** Lets every ready callback and promise reaction run (a few turns of the event loop): for asserting that something did NOT happen. */
export async function settleEventLoop(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
