// Reads one sample of a Prometheus text page, for tests of the metrics endpoints.

/** The value of `series` (name plus labels, exactly as exposed); throws naming the page when absent. */
export function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${page}`);
  return Number(line.slice(series.length + 1));
}
