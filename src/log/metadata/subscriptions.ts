// Subscriber commit positions (§1.2, DL's ZKSubscriptionsStore / ZKSubscriptionStateStore): one
// znode per subscriber under `<logRoot>/subscribers`, its data the base64 DLSN string. A missing
// node (or an empty one, left by a subscriber's read lock) reads as NonInclusiveLowerBound.
import { InvalidArgumentError, MetadataError } from '../../errors.js';
import type { MetadataStore, NodeData } from '../../metadata/metadata-store.js';
import { joinPath, validatePath } from '../../metadata/path.js';
import { DLSN } from '../format/dlsn.js';
import { LogError } from '../log-error.js';

/** ZooKeeper rejects these characters in a path (as validatePath does). */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

function isCode(err: unknown, code: MetadataError['code']): boolean {
  return err instanceof MetadataError && err.code === code;
}

/** Subscriber ids are one path component: non-empty, no '/', not '.' or '..', no characters ZooKeeper refuses. */
export function validateSubscriberId(id: string): void {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`invalid subscriber id ${JSON.stringify(id)}: ${why}`);
  };
  if (typeof id !== 'string' || id.length === 0) bad('empty');
  if (id.includes('/')) bad("contains '/'");
  if (id === '.' || id === '..') bad('a relative path component');
  if (FORBIDDEN_CHARS.test(id)) bad('contains a control or reserved character');
}

export class SubscriptionsStore {
  readonly #store: MetadataStore;
  readonly #root: string;

  /** `subscribersPath` is the log's LogPaths.subscribers; it is created on the first commit. */
  constructor(store: MetadataStore, subscribersPath: string) {
    validatePath(subscribersPath);
    this.#store = store;
    this.#root = subscribersPath;
  }

  /** The subscriber's last committed position; NonInclusiveLowerBound if it never committed. */
  async getCommitPosition(id: string): Promise<DLSN> {
    const node = await this.#read(id);
    return node === null ? DLSN.NonInclusiveLowerBound : this.#position(id, node);
  }

  /** Every subscriber's position, by id; empty when there are none. */
  async getCommitPositions(): Promise<Map<string, DLSN>> {
    let ids: string[];
    try {
      ids = await this.#store.children(this.#root);
    } catch (err) {
      if (isCode(err, 'NO_NODE')) return new Map();
      throw err;
    }
    const nodes = await Promise.all(ids.map((id) => this.#read(id)));
    const positions = new Map<string, DLSN>();
    ids.forEach((id, i) => {
      const node = nodes[i];
      // null: deleted since the listing
      if (node) positions.set(id, this.#position(id, node));
    });
    return positions;
  }

  /**
   * Stores `dlsn` if it is past the stored position (compare-and-set on the znode version, retried
   * on a race, so concurrent advances never move it back). Creates the node and its parents when
   * missing. Resolves whether the position moved.
   */
  async advanceCommitPosition(id: string, dlsn: DLSN): Promise<boolean> {
    const path = this.#path(id);
    const data = Buffer.from(dlsn.serialize(), 'utf8');
    for (;;) {
      const node = await this.#read(id);
      const current = node === null ? DLSN.NonInclusiveLowerBound : this.#position(id, node);
      if (dlsn.compare(current) <= 0) return false;
      try {
        if (node === null) await this.#store.create(path, data, { createParents: true });
        else await this.#store.set(path, data, node.stat.version);
        return true;
      } catch (err) {
        // lost a race with another advance (or a delete): read again and decide again
        if (!(isCode(err, 'NODE_EXISTS') || isCode(err, 'BAD_VERSION') || isCode(err, 'NO_NODE'))) throw err;
      }
    }
  }

  /**
   * Deletes the subscriber and its idle read-lock node; resolves false if it did not exist.
   * LOCK_HELD if a reader holds the subscriber's read lock.
   */
  async delete(id: string): Promise<boolean> {
    const path = this.#path(id);
    for (;;) {
      let children: string[];
      try {
        children = await this.#store.children(path);
      } catch (err) {
        if (isCode(err, 'NO_NODE')) return false;
        throw err;
      }
      for (const child of children) {
        try {
          await this.#store.delete(joinPath(path, child));
        } catch (err) {
          if (isCode(err, 'NOT_EMPTY')) {
            throw new LogError('LOCK_HELD', `subscriber ${id} is in use: ${child} has members`, { cause: err });
          }
          if (!isCode(err, 'NO_NODE')) throw err;
        }
      }
      try {
        await this.#store.delete(path);
        return true;
      } catch (err) {
        if (isCode(err, 'NO_NODE')) return false;
        // a read lock created meanwhile: list again
        if (!isCode(err, 'NOT_EMPTY')) throw err;
      }
    }
  }

  #path(id: string): string {
    validateSubscriberId(id);
    return joinPath(this.#root, id);
  }

  async #read(id: string): Promise<NodeData | null> {
    try {
      return await this.#store.get(this.#path(id));
    } catch (err) {
      if (isCode(err, 'NO_NODE')) return null;
      throw err;
    }
  }

  #position(id: string, node: NodeData): DLSN {
    if (node.data.length === 0) return DLSN.NonInclusiveLowerBound;
    try {
      return DLSN.deserialize(node.data.toString('utf8'));
    } catch (cause) {
      throw new LogError('INVALID_LOG_METADATA', `subscriber ${id}: stored position is not a DLSN`, { cause });
    }
  }
}
