// `configSchema`: the component's JSON Schema behind the zod-like face swamp
// calls (`safeParse`, `parse`), validated by ajv (bundled into `ajv.js`, so
// the extension needs no network); and the sandbox grants a config earns
// through the schema's `x-swamp-*` annotations.

// @ts-types="./ajv.d.ts"
import { Ajv2020 } from "./ajv.js";
import { type ConfigIssue, InvalidConfigError, pointerToPath } from "./errors.ts";
import type { Grants } from "./wasi.ts";
import { originOf } from "./wasi.ts";

export type SafeParseResult =
  | { success: true; data: Record<string, unknown> }
  | { success: false; error: InvalidConfigError };

export interface ConfigSchema {
  /** The component's JSON Schema, as it exported it. */
  readonly jsonSchema: Record<string, unknown>;
  /**
   * swamp recognises a config schema by duck typing on zod's shape (a
   * `_def` next to `parse` and `safeParse`); this one says what it is.
   */
  readonly _def: { typeName: "JsonSchema"; jsonSchema: Record<string, unknown> };
  /** The JSON Schema, where swamp asks a zod schema for one. */
  toJSONSchema(): Record<string, unknown>;
  safeParse(value: unknown): SafeParseResult;
  /** The config when valid, else throws `InvalidConfigError`. */
  parse(value: unknown): Record<string, unknown>;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function issueOf(e: AjvError): ConfigIssue {
  const path = pointerToPath(e.instancePath);
  // A missing or extra property is reported on its parent by ajv; swamp
  // (like zod) names the property itself.
  if (e.keyword === "required") path.push(String(e.params.missingProperty));
  if (e.keyword === "additionalProperties") path.push(String(e.params.additionalProperty));
  return { path, message: e.message ?? e.keyword, code: e.keyword };
}

export function configSchemaOf(schema: Record<string, unknown>): ConfigSchema {
  // strict: false lets the `x-swamp-*` annotations through, which JSON
  // Schema allows and ajv's strict mode would refuse as unknown keywords.
  // `format` is an annotation in draft 2020-12 (host-harness does not
  // assert it either), so it is not validated here.
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(schema);
  const safeParse = (value: unknown): SafeParseResult => {
    if (validate(value)) return { success: true, data: value as Record<string, unknown> };
    const issues = ((validate.errors ?? []) as AjvError[]).map(issueOf);
    return { success: false, error: new InvalidConfigError(issues) };
  };
  return {
    jsonSchema: schema,
    _def: { typeName: "JsonSchema", jsonSchema: schema },
    toJSONSchema: () => schema,
    safeParse,
    parse(value: unknown) {
      const r = safeParse(value);
      if (!r.success) throw r.error;
      return r.data;
    },
  };
}

/** What a (valid) config grants, read from the schema's annotations. */
export function grantsOf(schema: Record<string, unknown>, config: Record<string, unknown>): Grants {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const grants: Grants = { mounts: [], env: [], origins: [], awsRegions: [] };
  let region: string | undefined;
  for (const [name, prop] of Object.entries(props)) {
    const value = config[name] ?? prop.default;
    if (typeof value !== "string") continue;
    if (prop["x-swamp-mount"] === true && value.startsWith("/")) grants.mounts.push(value);
    if (prop["x-swamp-endpoint"] === true && config[name] !== undefined) {
      grants.origins.push(originOf(value));
    }
    if (prop["x-swamp-aws-region"] === true) region = value;
  }
  // As in host-harness: the AWS service is reachable only when no endpoint
  // is configured.
  if (region !== undefined && grants.origins.length === 0) grants.awsRegions.push(region);
  const env = schema["x-swamp-env"];
  if (Array.isArray(env)) grants.env = env.filter((v): v is string => typeof v === "string");
  return grants;
}
