/** Helpers shared by the operations: shapes, response-message loops, folder counts. */
import type { EwsStore, Folder } from '../model';
import type { BaseShape, FolderCounts, FolderShape, ItemShape, ShapeContext } from '../item-xml';
import type { RequestContext } from '../request-context';
import { EwsError, responseMessage } from '../soap';
import { StoreError } from '../model';
import { readExtendedPath, type ExtendedPath } from '../extended-properties';
import { attr, child, childText, children, parseBoolean, type Element } from '../xml';

/** An operation: the request element in, the inner XML of the m:XxxResponse element out. */
export type Operation = (ctx: RequestContext, request: Element) => string;

function additionalProperties(shape: Element | undefined): Set<string> {
  const result = new Set<string>();
  const holder = shape ? child(shape, 'AdditionalProperties') : undefined;
  if (!holder) return result;
  for (const path of children(holder)) {
    const uri = attr(path, 'FieldURI');
    if (uri) result.add(uri);
    // IndexedFieldURI (contacts:EmailAddress etc.) asks for part of a dictionary: return the dictionary.
    if (path.localName === 'IndexedFieldURI') {
      const indexed = attr(path, 'FieldURI');
      if (indexed === 'contacts:EmailAddress') result.add('contacts:EmailAddresses');
      if (indexed === 'contacts:PhoneNumber') result.add('contacts:PhoneNumbers');
    }
  }
  return result;
}

/** The ExtendedFieldURIs in AdditionalProperties. */
function extendedProperties(shape: Element | undefined): ExtendedPath[] {
  const holder = shape ? child(shape, 'AdditionalProperties') : undefined;
  if (!holder) return [];
  return children(holder, 'ExtendedFieldURI').map(readExtendedPath);
}

export function readItemShape(shape: Element | undefined, context: ShapeContext): ItemShape {
  const base = (childText(shape ?? ({} as Element), 'BaseShape') ?? 'Default') as BaseShape;
  const bodyType = (shape && childText(shape, 'BodyType')) as ItemShape['bodyType'] | undefined;
  return {
    base: base === 'IdOnly' || base === 'AllProperties' ? base : 'Default',
    additional: additionalProperties(shape),
    bodyType: bodyType === 'HTML' || bodyType === 'Text' ? bodyType : 'Best',
    includeMimeContent: shape ? (parseBoolean(childText(shape, 'IncludeMimeContent')) ?? false) : false,
    context,
    extended: extendedProperties(shape),
  };
}

export function readFolderShape(shape: Element | undefined): FolderShape {
  const base = (shape && childText(shape, 'BaseShape')) ?? 'Default';
  return { base: base === 'IdOnly' || base === 'AllProperties' ? base : 'Default', additional: additionalProperties(shape), extended: extendedProperties(shape) };
}

/** Converts store failures to EWS errors so each response message carries the right code. */
export function asEwsError(error: unknown): EwsError {
  if (error instanceof EwsError) return error;
  if (error instanceof StoreError) return new EwsError(error.code === 'ErrorDuplicate' ? 'ErrorFolderExists' : error.code, error.code === 'ErrorInvalidRequest' ? error.message : undefined);
  throw error;
}

/** Runs `each` per input, turning EwsErrors into error response messages (per-item errors are values). */
export function responseMessages<T>(name: string, inputs: readonly T[], each: (input: T) => string, emptyOnError = ''): string {
  let out = '<m:ResponseMessages>';
  for (const input of inputs) {
    let content: string;
    try {
      content = each(input);
    } catch (error) {
      out += responseMessage(name, emptyOnError, asEwsError(error));
      continue;
    }
    out += responseMessage(name, content);
  }
  return out + '</m:ResponseMessages>';
}

export function folderCounts(store: EwsStore, folder: Folder): FolderCounts {
  let unread = 0;
  for (const item of store.folderItems(folder)) if (item.kind === 'message' && !item.isRead) unread++;
  return { total: folder.itemIds.size, unread, children: store.childFolders(folder).length };
}

/** Integer attribute with bounds, or the default; out of bounds is a schema violation in Exchange. */
export function intAttribute(element: Element | undefined, name: string, fallback: number): number {
  const value = attr(element, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new EwsError('ErrorInvalidRequest', `${name} must be an integer.`);
  return parsed;
}
