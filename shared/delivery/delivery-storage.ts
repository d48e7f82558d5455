/**
 * Where delivery keeps its work: the `deliveries` queue (one message per batch and attempt) and
 * the `delivery-batches` blob container (claim-check payloads and dead-lettered batches).
 */
import type { BlobServiceClient } from '@azure/storage-blob';

// @azure/storage-blob (~100 modules) is required when the claim-check container is first used, not at start-up (cold start).
const blobServiceClient = (): typeof BlobServiceClient => (require('@azure/storage-blob') as typeof import('@azure/storage-blob')).BlobServiceClient;
import type { ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import type { QueueClient } from '@azure/storage-queue';
import type { StorageConfig } from '../config';
import { createQueueClient } from '../storage';

export const DELIVERIES_QUEUE = 'deliveries';
export const OUTBOUND_MAIL_QUEUE = 'outbound-mail';
export const DELIVERY_BATCHES_CONTAINER = 'delivery-batches';

export function createDeliveriesQueueClient(storage: StorageConfig, credential?: TokenCredential): QueueClient {
  return createQueueClient(storage, DELIVERIES_QUEUE, credential);
}

/** Blob endpoint: from the connection string, or the account's default endpoint with the app identity. */
export function createBatchContainerClient(storage: StorageConfig, credential?: TokenCredential): ContainerClient {
  if (storage.kind === 'connectionString') {
    return blobServiceClient().fromConnectionString(storage.connectionString.reveal()).getContainerClient(DELIVERY_BATCHES_CONTAINER);
  }
  if (!credential) throw new Error('A TokenCredential is required for identity-based blob storage');
  return new (blobServiceClient())(`https://${storage.accountName}.blob.core.windows.net`, credential).getContainerClient(DELIVERY_BATCHES_CONTAINER);
}

/** A small memo so the container is created once per process, retried after a failure. */
export class BatchBlobStore {
  #ready: Promise<unknown> | undefined;

  constructor(private readonly container: ContainerClient) {}

  async #ensure(): Promise<void> {
    this.#ready ??= this.container.createIfNotExists();
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    await this.#ready;
  }

  async put(blobName: string, json: string): Promise<void> {
    await this.#ensure();
    const bytes = Buffer.from(json, 'utf8');
    await this.container.getBlockBlobClient(blobName).uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'application/json' } });
  }

  async get(blobName: string): Promise<string> {
    const buffer = await this.container.getBlockBlobClient(blobName).downloadToBuffer();
    return buffer.toString('utf8');
  }

  /** The blob's text, or undefined when it does not exist (a claim-check already cleaned up). */
  async find(blobName: string): Promise<string | undefined> {
    try {
      return await this.get(blobName);
    } catch (error: unknown) {
      if ((error as { statusCode?: unknown } | null)?.statusCode === 404) return undefined;
      throw error;
    }
  }

  async exists(blobName: string): Promise<boolean> {
    return this.container.getBlockBlobClient(blobName).exists();
  }

  async delete(blobName: string): Promise<void> {
    await this.container.getBlockBlobClient(blobName).deleteIfExists();
  }

  /** Deletes every blob whose name starts with `prefix` (a group's batches); returns how many. */
  async deleteUnder(prefix: string): Promise<number> {
    if (!(await this.container.exists())) return 0;
    let deleted = 0;
    for await (const blob of this.container.listBlobsFlat({ prefix })) {
      if ((await this.container.getBlockBlobClient(blob.name).deleteIfExists()).succeeded) deleted++;
    }
    return deleted;
  }
}
