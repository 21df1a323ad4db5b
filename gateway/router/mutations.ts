import type { GraphQLError } from 'graphql';
import { errorJson } from '../../schema';
import type { Json } from './answers';
import type { Locations } from './locations';
import type { MutationFieldPlan, RootFieldPlan } from './plan';
import { argumentValues, project } from './selection';
import type { SubgraphError, SubgraphResponse } from './sites';

/** What a committed mutation produced: the entity to read back, its transaction, and where a moved entity lives now. */
export interface MutationResult {
  key: string;
  gid: string;
  moved?: { id: string; site: string };
}

/** Who sent the request, as the gateway's context carries it (the runner authorizes, the router does not). */
export type RequestContext = Record<string, unknown>;

export interface MutationRunner {
  /** `idempotencyKey`: a retry with the same key answers the first outcome instead of doing the work again. */
  run(field: string, args: Record<string, unknown>, idempotencyKey: string | undefined, context: RequestContext): Promise<MutationResult>;
  /** The gateway's own fields (`@coordinatorView`: `transactions`, `transaction(gid)`, `auditLog`, `login`). */
  view(field: string, args: Record<string, unknown>, context: RequestContext): Promise<unknown>;
}

export interface CoordinatedMutationsOptions {
  runner: MutationRunner;
  /** The store every router reads locations from: a committed move is known to all of them at once. */
  locations: Locations;
  /** Reads the committed entity back through the read path, under the field's response key. */
  readBack: (f: MutationFieldPlan, variables: Json, key: string) => Promise<SubgraphResponse>;
}

/**
 * Mutations are carried out by the coordinator, not by the router
 * (docs/ARCHITECTURE.md §4). Fields run one after another (GraphQL's serial
 * mutation order); each answer is read back from the committed data through
 * the read path. Every field is nullable: a refusal or a failed read-back
 * nulls that field only, and always with an error at its path.
 */
export class CoordinatedMutations {
  constructor(private readonly o: CoordinatedMutationsOptions) {}

  async run(fields: MutationFieldPlan[], variables: Json, context: RequestContext, header?: string): Promise<SubgraphResponse> {
    const data: Json = {};
    const errors: SubgraphError[] = [];
    for (const f of fields) {
      // An `Idempotency-Key` header names the whole operation; each field gets its own key from it.
      const answer = await this.field(f, variables, context, header === undefined ? undefined : `${header}#${f.key}`);
      data[f.key] = answer.value;
      errors.push(...answer.errors);
    }
    return { data, errors: errors.length ? errors : undefined };
  }

  /** A `@coordinatorView` root field, answered by the gateway's coordinator. */
  async view(plan: RootFieldPlan, variables: Json, context: RequestContext): Promise<SubgraphResponse> {
    const report = await this.o.runner.view(plan.field.name.value, argumentValues(plan.field, variables), context);
    return { data: { [plan.key]: project(report, plan.field.selectionSet, new Map()) } };
  }

  private async field(f: MutationFieldPlan, variables: Json, context: RequestContext, headerKey?: string): Promise<{ value: unknown; errors: SubgraphError[] }> {
    if (f.view) return this.viewField(f, variables, context);
    let result: MutationResult;
    try {
      const args = argumentValues(f.field, variables);
      // The argument wins over the header.
      const key = typeof args.idempotencyKey === 'string' ? args.idempotencyKey : headerKey;
      result = await this.o.runner.run(f.field.name.value, args, key, context);
    } catch (error) {
      const e = error as GraphQLError;
      if (!e.extensions?.code) throw error;
      return { value: null, errors: [{ message: e.message, path: [f.key], extensions: e.extensions }] };
    }
    // Rule 4: the move is durable now, while the birth site may not have its phase 2 yet: read the entity where it went.
    if (result.moved) this.o.locations.set(result.moved.id, result.moved.site);
    // A site down or slow after the commit: once more. `locate` falls back from a remembered site that does not answer to the birth site.
    let read = await this.readBack(f, variables, result.key);
    if (read.kind === 'failed') read = await this.readBack(f, variables, result.key);
    if (read.kind === 'read') return { value: read.value, errors: [] };
    return { value: null, errors: [committedReadFailed(f.key, result, read.cause)] };
  }

  /** A mutation the gateway answers itself (`login`): its answer, or its coded error at the field's path. */
  private async viewField(f: MutationFieldPlan, variables: Json, context: RequestContext): Promise<{ value: unknown; errors: SubgraphError[] }> {
    try {
      const report = await this.o.runner.view(f.field.name.value, argumentValues(f.field, variables), context);
      return { value: project(report, f.field.selectionSet, new Map()), errors: [] };
    } catch (error) {
      const e = error as GraphQLError;
      if (!e.extensions?.code) throw error;
      return { value: null, errors: [{ message: e.message, path: [f.key], extensions: e.extensions }] };
    }
  }

  /** The committed entity through the read path; anything short of the whole entity without errors is a failed read. */
  private async readBack(f: MutationFieldPlan, variables: Json, key: string): Promise<{ kind: 'read'; value: unknown } | { kind: 'failed'; cause: string }> {
    const answer = await this.o.readBack(f, variables, key);
    const value = answer.data?.[f.key];
    if (value != null && !answer.errors?.length) return { kind: 'read', value };
    const error = answer.errors?.[0];
    return { kind: 'failed', cause: error ? `${String(error.extensions?.code ?? 'error')}: ${error.message}` : `no site answered ${key}` };
  }
}

/**
 * After a commit, a failed read-back is not a failed mutation: the client must
 * hear that the change is durable, or it retries and does the work twice.
 */
function committedReadFailed(key: string, result: MutationResult, cause: string): SubgraphError {
  return errorJson(
    'TX_COMMITTED_READ_FAILED',
    `the mutation committed (transaction ${result.gid}); only reading back ${result.key} failed (${cause}). Do not retry the mutation: read ${result.key} later`,
    { gid: result.gid, id: result.key },
    [key],
  );
}
