// A test whose prerequisite this machine lacks (ZooKeeper, Java, chromium, root for a tmpfs): under
// CI=true a failure, since CI installs every prerequisite; elsewhere a skip, announced loudly once per
// prerequisite, never a silent pass.
import type { Context } from 'mocha';

const announced = new Set<string>();

export interface SkipOptions {
  /** Fail instead under CI=true. Default true; false only for what CI may lack (root). */
  readonly requiredInCi?: boolean;
}

/** `missing`: what is not here and how to get it; `skipped`: which tests do not run. Never returns. */
export function skipWithout(ctx: Context, missing: string, skipped: string, options: SkipOptions = {}): never {
  if ((options.requiredInCi ?? true) && process.env.CI === 'true') throw new Error(`${missing}; CI=true requires it`);
  if (!announced.has(missing)) {
    announced.add(missing);
    process.stderr.write(`\n!!! ${missing}: ${skipped} SKIPPED !!!\n\n`);
  }
  ctx.skip(); // reason: the prerequisite named in `missing` is absent (announced above)
}
