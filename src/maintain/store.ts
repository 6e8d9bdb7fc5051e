/**
 * The run's state in the cluster, written as controllers write: read the
 * ConfigMap, apply the change to what was read, write it back with the
 * resourceVersion read; on a 409 (another writer came between) read again
 * and apply the change again (client-go's RetryOnConflict). What another
 * writer wrote is never overwritten: every change is a function of the
 * state as it is. A ConfigMap deleted under a run stops the run; a 403 is
 * a usage error naming the verb and resource. Works through ConfigMapApi,
 * which the API server answers (clusterConfigMaps) or the tests' fake.
 */
import { exponentialBackoff } from '../base/backoff.js';
import { sleep as realSleep } from '../base/concurrency.js';
import { UsageError } from '../base/errors.js';
import { apiStatusOf } from '../kube/apierror.js';
import { EMPTY_STATE, parseState, STATE_KEYS, stateData, stateMoved, type RunState } from './state.js';

export interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  data?: Record<string, string>;
}

/** The calls the state needs. Failures are typed errors whose HTTP status apiStatusOf reads (404, 409, 403...). */
export interface ConfigMapApi {
  get(namespace: string, name: string): Promise<ConfigMapObject>;
  create(namespace: string, body: ConfigMapObject): Promise<ConfigMapObject>;
  /** A replace with body.metadata.resourceVersion as its precondition: 409 when the object changed since. */
  replace(namespace: string, name: string, body: ConfigMapObject): Promise<ConfigMapObject>;
}

/** How often a write that keeps meeting other writers is tried before the run gives up. */
export const CONFLICT_ATTEMPTS = 12;

export const STATE_LABELS = { 'app.kubernetes.io/managed-by': 'kubectl-study' } as const;

export class StateStore {
  /** How messages name the object: configmap NAMESPACE/NAME. */
  readonly where: string;

  constructor(
    private readonly api: ConfigMapApi,
    readonly namespace: string,
    readonly name: string,
    private readonly wait: (ms: number) => Promise<void> = (ms) => realSleep(ms),
  ) {
    this.where = `configmap ${namespace}/${name}`;
  }

  /** The state now (an empty one when the ConfigMap does not exist). */
  async read(): Promise<RunState> {
    return (await this.fetch()).state;
  }

  private async fetch(): Promise<{ state: RunState; object: ConfigMapObject | undefined }> {
    try {
      const object = await this.api.get(this.namespace, this.name);
      return { state: parseState(object.data, this.where), object };
    } catch (err) {
      if (apiStatusOf(err)?.code === 404) return { state: EMPTY_STATE, object: undefined };
      throw this.failure('get', err);
    }
  }

  /**
   * Applies `change` to the state as it is now and writes the result with
   * the resourceVersion read, reading again and applying it again after
   * each 409. `create`: a missing ConfigMap is created (a run starting);
   * otherwise it was deleted under the run, which stops it.
   */
  async update(change: (state: RunState) => RunState, options: { create: boolean }): Promise<RunState> {
    const backoff = exponentialBackoff(50, 1000);
    for (let attempt = 1; ; attempt++) {
      const { state, object } = await this.fetch();
      if (!object && !options.create) throw stateMoved(this.where, 'was deleted (by someone else) during the run');
      const next = change(state);
      try {
        if (object) {
          // The state's own keys replaced, whatever else another writer put there kept.
          const data = Object.fromEntries(
            Object.entries(object.data ?? {}).filter(([key]) => !(STATE_KEYS as readonly string[]).includes(key)),
          );
          await this.api.replace(this.namespace, this.name, { ...object, data: { ...data, ...stateData(next) } });
        } else {
          await this.api.create(this.namespace, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: this.name, namespace: this.namespace, labels: { ...STATE_LABELS } },
            data: stateData(next),
          });
        }
        return next;
      } catch (err) {
        const code = apiStatusOf(err)?.code;
        // 409: another writer came between the read and the write (or created it first); 404: deleted meanwhile,
        // which the next read says. Either way: read again, apply again.
        if ((code === 409 || (code === 404 && object)) && attempt < CONFLICT_ATTEMPTS) {
          await this.wait(backoff.next());
          continue;
        }
        if (code === 409)
          throw stateMoved(
            this.where,
            `kept changing under this run (${CONFLICT_ATTEMPTS} writes in a row met another)`,
          );
        throw this.failure(object ? 'update' : 'create', err);
      }
    }
  }

  private failure(verb: string, err: unknown): Error {
    if (apiStatusOf(err)?.code !== 403) return err as Error;
    const message = apiStatusOf(err)?.status.message;
    return new UsageError(
      `not allowed to ${verb} configmaps in namespace ${this.namespace} ` +
        `(the run's state, ${this.name})${message ? `: ${message}` : ''}`,
      {
        hint:
          `a maintenance run keeps its state there: it needs get, create and update on configmaps in ` +
          `${this.namespace}; ask for them, or choose another --lock-namespace`,
        cause: err,
      },
    );
  }
}
