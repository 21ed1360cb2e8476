import type { OrgId } from './rows.js';

export interface Org {
  id: OrgId;
  name: string;
  createdAt: Date;
}

export interface ApiKeyRecord {
  id: string;
  orgId: OrgId;
  name: string;
  /** The first characters of the key, shown in lists so a person can tell keys apart. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Orgs and API keys: the control plane. Only key hashes are stored, never keys. */
export interface ControlStore {
  listOrgs(): Promise<Org[]>;
  createOrg(name: string): Promise<Org>;
  createApiKey(input: { orgId: OrgId; name: string; prefix: string; keyHash: string }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
}
