// The writer ownership lock (DL's ZKSessionLock/ZKDistributedLock, reference §5.1): EPHEMERAL_SEQUENTIAL
// members under `<logRoot>/lock`, the lowest sequence owns; waiters watch their predecessor. After a
// session expiry the lock is re-acquired at once (timeout 0); if someone else got it, it is lost.
import { EventEmitter } from 'node:events';
import { MetadataError } from '../../errors.js';
import type { MetadataStore } from '../../metadata/metadata-store.js';
import { joinPath } from '../../metadata/path.js';
import { retry } from '../../util/backoff.js';
import { noopLogger, type Logger } from '../../util/logger.js';
import { memberPrefix, parseMemberName, sortMembers, type LockId } from './lock-member-name.js';
import { LogError } from '../log-error.js';

export interface OwnershipLockOptions {
  logger?: Logger;
}

/** LOCK_HELD: another writer owns the lock (OwnershipAcquireFailedException); `owner` is its client id. */
export class LockHeldError extends LogError {
  readonly owner: string;

  constructor(lockPath: string, owner: string) {
    // retriable: the owner may close, or its session may end
    super('LOCK_HELD', `lock ${lockPath} is held by ${owner}`, { retriable: true });
    this.owner = owner;
  }
}

const REACQUIRE_ATTEMPTS = 5;

export class OwnershipLock extends EventEmitter<{ lost: [error: LogError] }> {
  readonly #store: MetadataStore;
  readonly #lockPath: string;
  readonly #clientId: string;
  readonly #log: Logger;
  /** Sessions this lock created members under: their members count as ours. */
  readonly #sessions = new Set<bigint>();
  #memberPath: string | undefined;
  #owned = false;
  #lost: LogError | undefined;
  #released = false;
  #acquiring: Promise<void> | undefined;
  #reacquiring: Promise<void> | undefined;
  /** Set by 'expired' while owned: the next 'connected' of another session re-acquires. */
  #expiredSession: bigint | undefined;
  /** Wakes a waiting acquire (predecessor deleted, session expired, release). */
  #wake: (() => void) | undefined;
  #listening = false;
  /** Counts 'expired' events: a re-acquire interrupted by another expiry tries again. */
  #expiries = 0;

  constructor(store: MetadataStore, lockPath: string, clientId: string, options: OwnershipLockOptions = {}) {
    super();
    this.#store = store;
    this.#lockPath = lockPath;
    this.#clientId = clientId;
    this.#log = options.logger ?? noopLogger;
  }

  get owned(): boolean {
    return this.#owned;
  }

  /** This lock's member node (full path), while it has one. */
  get memberPath(): string | undefined {
    return this.#memberPath;
  }

  /**
   * 0 fails fast when held, -1 waits forever. Rejects with LockHeldError (LOCK_HELD) naming the owner,
   * or with `signal.reason` once `signal` aborts the wait (the member node is removed).
   */
  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(timeoutMs) || timeoutMs < -1) throw new RangeError(`invalid lock timeout ${timeoutMs}`);
    signal?.throwIfAborted();
    if (this.#owned) return;
    if (this.#acquiring) return this.#acquiring;
    await this.#reacquiring;
    if (this.#isOwned()) return; // a re-acquire may have got it
    this.#released = false;
    this.#lost = undefined;
    this.#listen();
    this.#acquiring = this.#tryLock(timeoutMs, signal).then(async () => {
      if (!this.#released) {
        this.#owned = true;
        return;
      }
      await this.#deleteMember();
      throw new LogError('LOCK_LOST', `lock ${this.#lockPath}: released while acquiring`);
    });
    try {
      await this.#acquiring;
    } finally {
      this.#acquiring = undefined;
    }
  }

  /** Throws LOCK_LOST once a re-acquire after a session expiry failed. */
  checkOwnership(): void {
    if (this.#lost) throw this.#lost;
  }

  /** Deletes the member node and stops re-acquiring. Idempotent. */
  async release(): Promise<void> {
    this.#released = true;
    this.#owned = false;
    this.#expiredSession = undefined;
    this.#wake?.();
    await this.#acquiring?.catch(() => undefined);
    await this.#reacquiring;
    this.#unlisten();
    await this.#deleteMember();
  }

  // state read after an await (TypeScript would keep the narrowing from before it)
  #isOwned(): boolean { return this.#owned; }
  #isReleased(): boolean { return this.#released; }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#store.on('expired', this.#onExpired);
    this.#store.on('connected', this.#onConnected);
  }

  #unlisten(): void {
    this.#listening = false;
    this.#store.off('expired', this.#onExpired);
    this.#store.off('connected', this.#onConnected);
  }

  readonly #onExpired = (sessionId: bigint): void => {
    // the session's ephemeral member is gone
    this.#expiries++;
    if (this.#owned || this.#reacquiring) {
      this.#log.warn({ lockPath: this.#lockPath, sessionId: sessionId.toString(16) }, 'ownership lock: session expired, will re-acquire');
      this.#owned = false;
      this.#expiredSession = sessionId;
    }
    this.#wake?.();
  };

  readonly #onConnected = (sessionId: bigint): void => {
    // a reconnect on the expired session itself is not the new session
    if (this.#expiredSession === undefined || sessionId === this.#expiredSession || this.#released) return;
    if (this.#reacquiring) return; // it fails on the expired session and then tries again
    this.#expiredSession = undefined;
    this.#reacquiring = this.#reacquire().finally(() => { this.#reacquiring = undefined; });
  };

  async #reacquire(): Promise<void> {
    let expiries = this.#expiries;
    let acquired: boolean;
    try {
      acquired = await retry(async () => {
        if (this.#isReleased()) return false;
        this.#expiredSession = undefined;
        expiries = this.#expiries;
        await this.#tryLock(0, undefined);
        return true;
      }, {
        initialMs: 200,
        retries: REACQUIRE_ATTEMPTS - 1,
        // another expiry meanwhile, or a transient store error: try again
        shouldRetry: (err) => !this.#isReleased() && !(err instanceof LockHeldError) && (this.#expiries !== expiries
          || (err instanceof MetadataError && (err.retriable || err.code === 'SESSION_EXPIRED'))),
      });
    } catch (err) {
      if (this.#isReleased()) return;
      const lost = new LogError('LOCK_LOST', `lost the lock ${this.#lockPath} after a session expiry: ${(err as Error).message}`, { cause: err });
      this.#lost = lost;
      this.#unlisten();
      this.#log.error({ lockPath: this.#lockPath, err }, 'ownership lock lost');
      this.emit('lost', lost);
      return;
    }
    if (!acquired) return;
    if (this.#isReleased()) {
      await this.#deleteMember();
      return;
    }
    this.#owned = true;
    this.#log.info({ lockPath: this.#lockPath, member: this.#memberPath }, 'ownership lock re-acquired');
  }

  /** One attempt (reference §5.1); on failure the member node is deleted. */
  async #tryLock(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    if (timeoutMs === 0) {
      // immediate mode: fail without creating a node when someone else holds it
      const owner = await this.#ownerOf(sortMembers(await this.#store.children(this.#lockPath)));
      if (owner !== undefined && !this.#isMine(owner.id)) throw new LockHeldError(this.#lockPath, owner.id.clientId);
    }
    const sessionId = this.#store.sessionId;
    this.#sessions.add(sessionId);
    const path = await this.#store.create(joinPath(this.#lockPath, memberPrefix(this.#clientId, sessionId)), Buffer.from(this.#clientId, 'utf8'), { mode: 'ephemeral_sequential' });
    this.#memberPath = path;
    const myName = path.slice(path.lastIndexOf('/') + 1);
    try {
      for (;;) {
        if (this.#released) throw new LogError('LOCK_LOST', `lock ${this.#lockPath}: released while acquiring`);
        signal?.throwIfAborted();
        const members = sortMembers(await this.#store.children(this.#lockPath));
        const index = members.indexOf(myName);
        if (index < 0) throw new LogError('LOCK_LOST', `lock ${this.#lockPath}: member ${myName} vanished (session expired?)`);
        if (index === 0) return;
        const owner = await this.#ownerOf(members);
        if (owner === undefined) continue; // the owner's node went away meanwhile
        if (this.#isMine(owner.id)) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new LockHeldError(this.#lockPath, owner.id.clientId);
        // watch the immediately preceding member only
        const woken = new Promise<void>((resolve) => { this.#wake = resolve; });
        const predecessor = joinPath(this.#lockPath, members[index - 1] ?? '');
        const stat = await this.#store.exists(predecessor, () => { this.#wake?.(); });
        if (stat === null) continue;
        let timer: NodeJS.Timeout | undefined;
        if (remaining !== Infinity) timer = setTimeout(() => { this.#wake?.(); }, remaining);
        const onAbort = (): void => { this.#wake?.(); };
        signal?.addEventListener('abort', onAbort, { once: true });
        // an abort during the awaits above fired no listener: wake now, the loop's check throws
        if (signal?.aborted === true) onAbort();
        try {
          await woken;
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#wake = undefined;
        }
      }
    } catch (err) {
      await this.#deleteMember();
      throw err;
    }
  }

  /** The first member and its lock id; undefined when there is none (or it vanished while read). */
  async #ownerOf(members: readonly string[]): Promise<{ name: string; id: LockId } | undefined> {
    const name = members[0];
    if (name === undefined) return undefined;
    const parsed = parseMemberName(name);
    if (parsed) return { name, id: parsed };
    try {
      const { data, stat } = await this.#store.get(joinPath(this.#lockPath, name));
      return { name, id: { clientId: data.toString('utf8'), sessionId: stat.ephemeralOwner } };
    } catch (err) {
      if (err instanceof MetadataError && err.code === 'NO_NODE') return undefined;
      throw err;
    }
  }

  /** Same client and one of our sessions (the current one or an earlier one). */
  #isMine(id: LockId): boolean {
    if (id.clientId !== this.#clientId) return false;
    for (const session of this.#sessions) if (BigInt.asIntN(64, session) === id.sessionId) return true;
    return false;
  }

  async #deleteMember(): Promise<void> {
    const path = this.#memberPath;
    if (path === undefined) return;
    this.#memberPath = undefined;
    try {
      await this.#store.delete(path);
    } catch (err) {
      // gone already, or the session that owned it ended (its ephemeral node goes with it)
      if (err instanceof MetadataError && (err.code === 'NO_NODE' || err.code === 'SESSION_EXPIRED' || err.code === 'CLOSED')) return;
      this.#log.warn({ lockPath: this.#lockPath, path, err }, 'ownership lock: could not delete the member node');
    }
  }
}
