// Once an embedded cluster gives up on a bookie, its clients must not wait for answers that will
// never come (the 60 s request timeout of `local:`): this wraps an object (the ledger client) so
// that each of its promise-returning methods, and those of the objects they resolve with that
// `wrapResult` picks (ledger handles), settles with the cluster's failure as soon as there is one,
// calls already pending included. Writers and readers then fail with it as with any ledger error.
// `close` is never cut short: a client must still be able to release what it holds.

/** `failed` rejects once, with the failure, and must never resolve. */
export function failFast<T extends object>(target: T, failed: Promise<never>, wrapResult: (value: unknown) => value is object): T {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, prop) {
      // own receiver: the target's private fields are not reachable through the proxy
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(prop);
      if (wrapper === undefined) {
        const fn = value as (...args: unknown[]) => unknown;
        wrapper = prop === 'close'
          ? fn.bind(obj)
          : (...args: unknown[]): unknown => {
            const result = fn.apply(obj, args);
            if (!(result instanceof Promise)) return result;
            const wrapped = result.then((r: unknown) => (wrapResult(r) ? failFast(r, failed, wrapResult) : r));
            return Promise.race([wrapped, failed]);
          };
        wrappers.set(prop, wrapper);
      }
      return wrapper;
    },
  });
}
