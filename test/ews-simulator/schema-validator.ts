/**
 * Test helper: validate EWS XML against Microsoft's official EWS schema.
 *
 *   const validator = ewsSchemaValidator();           // undefined when the schema dir is absent
 *   test('...', { skip: schemaSkipReason() }, async () => {
 *     const result = await validator!.validate(xml);   // envelope or body element
 *     assert.deepEqual(result.errors, []);
 *   });
 *
 * `assertSchemaValid(xml)` is the short form (fails with the libxml2 messages).
 */
import assert from 'node:assert/strict';
import { EwsSchemaValidator, type BodyValidation } from '../../dev/ews-simulator/schema-validation';
import { ewsSchemaDir } from '../../dev/project-paths';

export type { BodyValidation };
export { EwsSchemaValidator };

let shared: EwsSchemaValidator | undefined;

/** The shared validator, or undefined when the EWS schema folder is not available. */
export function ewsSchemaValidator(): EwsSchemaValidator | undefined {
  const dir = ewsSchemaDir();
  if (!dir) return undefined;
  shared ??= new EwsSchemaValidator(dir);
  return shared;
}

/** A reason to skip schema tests, or false when the schema is available (for node:test's `skip`). */
export function schemaSkipReason(): string | false {
  return ewsSchemaDir() ? false : 'EWS schema not found: set EWS_SCHEMA_DIR or provide ../shared/ews-schema (see its SOURCES.md)';
}

/** Validates the body of `xml` (envelope or body element) and returns the errors (empty when valid). */
export async function validateEwsXml(xml: string): Promise<string[]> {
  const validator = ewsSchemaValidator();
  if (!validator) throw new Error(String(schemaSkipReason()));
  return (await validator.validate(xml)).errors;
}

/** Asserts that every given body validates; the message names the body and libxml2's errors. */
export async function assertSchemaValid(...xmls: string[]): Promise<void> {
  const validator = ewsSchemaValidator();
  if (!validator) throw new Error(String(schemaSkipReason()));
  const results = await validator.validateMany(xmls);
  results.forEach((result, index) => {
    assert.deepEqual(result.errors, [], `body ${index} is not schema-valid:\n${result.errors.join('\n')}\n--- body ---\n${xmls[index]!.slice(0, 3000)}`);
  });
}

/**
 * Collects answers during a test file and validates them in one xmllint run at the end: one
 * validation loads the whole EWS schema, so validating each answer alone makes a file of many
 * calls slow. Without the schema folder, `assertAllValid` does nothing (the behaviour assertions
 * still run).
 */
export class SchemaBatch {
  private readonly bodies: { readonly name: string; readonly xml: string }[] = [];

  add(name: string, xml: string): void {
    this.bodies.push({ name, xml });
  }

  async assertAllValid(): Promise<void> {
    const validator = ewsSchemaValidator();
    if (!validator || this.bodies.length === 0) return;
    const results = await validator.validateMany(this.bodies.map((b) => b.xml));
    const failures = results.flatMap((result, i) => (result.errors.length > 0 ? [`${this.bodies[i]!.name}: ${result.errors.join('; ')}\n${this.bodies[i]!.xml.slice(0, 2000)}`] : []));
    this.bodies.length = 0;
    assert.deepEqual(failures, [], failures.join('\n\n'));
  }
}
