// What a program that only reports on BGP password Secrets keeps of them: never a value.

/** SecretLike is the part of a v1 Secret that redactSecret reads. */
export interface SecretLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** RedactedSecret is a Secret with every value emptied: its identity, type and key names only. */
export interface RedactedSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  type?: string;
  data: Record<string, ''>;
}

/**
 * redactSecret returns what the controller keeps of a Secret: name, namespace, uid, resourceVersion, type and
 * the names of its keys, each with an empty value. That is enough for parseConfig to tell a missing Secret, a
 * wrong type and a missing "password" key apart (a redacted Secret resolves to the password ""), and the
 * password itself is never kept, logged or compared. Pure; O(keys).
 */
export function redactSecret(secret: SecretLike): RedactedSecret {
  const m = secret.metadata ?? {};
  const metadata: RedactedSecret['metadata'] = {};
  if (m.name !== undefined) metadata.name = m.name;
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  const data: Record<string, ''> = {};
  for (const k of [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})]) data[k] = '';
  const out: RedactedSecret = { apiVersion: 'v1', kind: 'Secret', metadata, data };
  if (secret.type !== undefined) out.type = secret.type;
  return out;
}

/** PasswordSecret is what the speaker keeps of a Secret: the redacted form, plus a BGP password's value. */
export interface PasswordSecret extends Omit<RedactedSecret, 'data'> {
  data: Record<string, string>;
}

/**
 * keepPasswordOnly returns what the speaker keeps of a Secret of its namespace: the redacted form (identity,
 * type, key names), and the value of the "password" key only when the Secret can be a BGP password Secret
 * (type kubernetes.io/basic-auth). Every other value in the namespace — the webhook's TLS key, say — never
 * enters the speaker's cache. Pure; O(keys).
 */
export function keepPasswordOnly(secret: SecretLike): PasswordSecret {
  const out: PasswordSecret = redactSecret(secret);
  if (secret.type !== 'kubernetes.io/basic-auth') return out;
  const password = secret.data?.password;
  if (typeof password === 'string') out.data = { ...out.data, password };
  return out;
}

/**
 * passwordSecretNames returns the Secret names that BGPPeer objects (raw, as the API server returns them) name
 * in spec.passwordSecret, so a watcher can tell whether a Secret change concerns the configuration at all.
 */
export function passwordSecretNames(peers: readonly unknown[]): Set<string> {
  const out = new Set<string>();
  for (const o of peers) {
    const name = (o as { spec?: { passwordSecret?: { name?: unknown } } } | null)?.spec?.passwordSecret?.name;
    if (typeof name === 'string') out.add(name);
  }
  return out;
}
