/**
 * Validation of EWS message bodies (the element inside soap:Body) against Microsoft's EWS schema
 * with xmllint-wasm (libxml2). The schema lives outside the project (ewsSchemaDir()); nothing is
 * copied into it. Used by tests and, when switched on, by the simulator for incoming requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';

export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

const SCHEMA_FILES = ['ews-validate.xsd', 'xml.xsd', 'messages.xsd', 'types.xsd'] as const;

export interface BodyValidation {
  readonly valid: boolean;
  /** libxml2 messages, one per problem. */
  readonly errors: string[];
}

/** Validates EWS bodies against the schema in `schemaDir`; loads the schema files once. */
export class EwsSchemaValidator {
  private readonly files: XMLFileInfo[];

  constructor(readonly schemaDir: string) {
    this.files = SCHEMA_FILES.map((name) => ({ fileName: name, contents: readFileSync(join(schemaDir, name), 'utf8') }));
  }

  /** Validates one body (`<m:GetItemResponse ...>` etc., or a whole SOAP envelope: its body element is taken). */
  async validate(xml: string): Promise<BodyValidation> {
    const [result] = await this.validateMany([xml]);
    return result!;
  }

  /** Validates several bodies in one xmllint run (faster than one run each). */
  async validateMany(xmls: readonly string[]): Promise<BodyValidation[]> {
    const inputs: XMLFileInfo[] = xmls.map((xml, index) => ({ fileName: `body-${index}.xml`, contents: bodyOf(xml) }));
    const result = await validateXML({
      xml: inputs,
      schema: this.files[0]!,
      preload: this.files.slice(1),
      maxMemoryPages: 16384,
    });
    const fileOf = (e: (typeof result.errors)[number]): string | undefined =>
      e.loc?.fileName ?? inputs.find((input) => e.rawMessage.includes(input.fileName) || e.message.includes(input.fileName))?.fileName;
    const unplaced = result.errors.filter((e) => fileOf(e) === undefined).map((e) => e.message);
    if (!result.valid && result.errors.length === 0) unplaced.push(result.rawOutput.trim() || 'xmllint reported failure without messages');
    return inputs.map((input) => {
      // Errors not tied to one body (schema compile problems) fail every body.
      const errors = [...unplaced, ...result.errors.filter((e) => fileOf(e) === input.fileName).map((e) => e.message)];
      return { valid: errors.length === 0, errors };
    });
  }
}

/** The element inside soap:Body when `xml` is an envelope; otherwise `xml` unchanged. */
export function bodyOf(xml: string): string {
  if (!xml.includes(SOAP_NS) || !/Envelope/.test(xml.slice(0, 400))) return xml;
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const bodies = doc.getElementsByTagNameNS(SOAP_NS, 'Body');
  const body = bodies.item(0);
  if (!body) return xml;
  for (let node = body.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) return new XMLSerializer().serializeToString(node);
  }
  return xml;
}
