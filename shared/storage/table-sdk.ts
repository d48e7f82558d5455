/**
 * @azure/data-tables (with core-client and core-rest-pipeline, ~180 modules and the largest share
 * of the function app's start after zod) is required on the first table call, not when the
 * function files load: health, openapi and the console never touch a table (cold start,
 * docs/sync.md). Modules take its types with `import type` and its values from here.
 */
import type * as DataTables from '@azure/data-tables';

let sdk: typeof DataTables | undefined;

export function tablesSdk(): typeof DataTables {
  sdk ??= require('@azure/data-tables') as typeof DataTables;
  return sdk;
}

/** The SDK's odata`` tag (escapes every interpolated value), loaded on first use. */
export function odata(strings: TemplateStringsArray, ...values: unknown[]): string {
  return tablesSdk().odata(strings, ...values);
}
