// Watches the bookie's disks and reports when it must turn read-only (usage above the threshold)
// and when it may be writable again (usage below the warn threshold, so it does not flap).
import { statfs } from 'node:fs/promises';
import type { Logger } from '../util/logger.js';

export interface DiskMonitorOptions {
  readonly dirs: readonly string[];
  /** Fraction of a disk in use above which the bookie goes read-only. */
  readonly threshold: number;
  /** Fraction below which a read-only bookie becomes writable again. */
  readonly warnThreshold: number;
  readonly intervalMs: number;
  readonly onChange: (readOnly: boolean) => Promise<void>;
  readonly logger: Logger;
}

export async function diskUsage(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.blocks === 0 ? 0 : 1 - fs.bavail / fs.blocks;
}

/** True when some dir's disk is used beyond `threshold`; an unreadable one counts as not full. */
export async function anyDiskOver(dirs: readonly string[], threshold: number): Promise<boolean> {
  const usages = await Promise.all(dirs.map((d) => diskUsage(d).catch(() => 0)));
  return usages.some((u) => u > threshold);
}

export class DiskMonitor {
  readonly #options: DiskMonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #readOnly = false;
  #running: Promise<void> | undefined;

  constructor(options: DiskMonitorOptions) {
    this.#options = options;
  }

  /** Checks now, then every interval. */
  async start(): Promise<void> {
    await this.check();
    this.#schedule();
  }

  /** One check; resolves after any mode change it caused has been applied. */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => { this.#running = undefined; });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.check().finally(() => { if (this.#timer) this.#schedule(); });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const { dirs, threshold, warnThreshold, onChange, logger } = this.#options;
    let usage: number;
    try {
      usage = Math.max(...await Promise.all(dirs.map(diskUsage)));
    } catch (err) {
      logger.warn({ err }, 'disk usage check failed');
      return;
    }
    const readOnly = this.#readOnly ? usage >= warnThreshold : usage > threshold;
    if (readOnly === this.#readOnly) return;
    this.#readOnly = readOnly;
    logger.warn({ usage, threshold, warnThreshold }, readOnly ? 'disk usage over threshold' : 'disk usage back under the warn threshold');
    await onChange(readOnly);
  }
}
