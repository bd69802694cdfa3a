// Types of the bundled ajv (`ajv.js`): only what schema.ts uses.
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}
export declare class Ajv2020 {
  constructor(options?: Record<string, unknown>);
  compile(schema: unknown): ValidateFunction;
}
