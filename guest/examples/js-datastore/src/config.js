// The config: its JSON Schema (what the host validates and reads sandbox
// grants from) and the same rules checked again here, every problem
// reported with its JSON Pointer (wit/datastore.wit: create-provider
// "validates again").

import { invalidConfig } from './errors.js';

export const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'JavaScript example datastore',
  description: 'A datastore in a directory on a local disk (locks and health checks only).',
  type: 'object',
  properties: {
    path: {
      type: 'string',
      description: 'Absolute path of the datastore directory.',
      pattern: '^/',
      minLength: 1,
      // Asks the host to mount this directory at the same absolute path.
      'x-swamp-mount': true,
    },
  },
  required: ['path'],
  additionalProperties: false,
};

/** Check a parsed config; returns `{ path }` or throws invalid-config listing every problem. */
export function parseConfig(config) {
  const problems = [];
  const problem = (path, message) => problems.push({ path, message });
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    problem('', 'the config must be a JSON object');
    throw invalidConfig(problems);
  }
  const { path } = config;
  if (path === undefined) problem('/path', "'path' is required");
  else if (typeof path !== 'string') problem('/path', `'path' must be a string, not ${kind(path)}`);
  else if (path === '') problem('/path', "'path' must not be empty");
  else if (!path.startsWith('/')) problem('/path', `'path' must be an absolute path, got ${JSON.stringify(path)}`);
  for (const field of Object.keys(config)) {
    if (field !== 'path') problem(pointer(field), `unknown field '${field}' (allowed: path)`);
  }
  if (problems.length > 0) throw invalidConfig(problems);
  return { path: path.replace(/\/+$/, '') || '/' }; // without a trailing slash
}

function kind(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The JSON Pointer of a top-level field (`~` and `/` escaped). */
function pointer(field) {
  return `/${field.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}
