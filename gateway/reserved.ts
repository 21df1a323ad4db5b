import type { ValidationRule } from 'graphql';
import { libfedError } from '../schema';
import { RESERVED as RESERVED_PREFIX } from './router';

/**
 * A client alias or variable beginning with the gateway's reserved prefix
 * would collide with its bookkeeping fields (and be stripped from the answer)
 * or with the page variables it adds to a site's fetch: refuse it during
 * validation, naming it.
 */
export const NoReservedAliases: ValidationRule = (context) => ({
  Field(node) {
    const alias = node.alias?.value;
    if (alias?.startsWith(RESERVED_PREFIX)) {
      context.reportError(
        libfedError(
          'GRAPHQL_VALIDATION_FAILED',
          `alias "${alias}" begins with "${RESERVED_PREFIX}", which the gateway reserves for its own fields; choose another alias`,
          {},
          { nodes: [node] },
        ),
      );
    }
  },
  VariableDefinition(node) {
    const name = node.variable.name.value;
    if (name.startsWith(RESERVED_PREFIX)) {
      context.reportError(
        libfedError('GRAPHQL_VALIDATION_FAILED', `variable "$${name}" begins with "${RESERVED_PREFIX}", which the gateway reserves for its own variables; choose another name`, {}, { nodes: [node] }),
      );
    }
  },
});
