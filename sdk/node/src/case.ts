/** snake_case ↔ camelCase for API JSON (keys under `metadata` are the caller's and stay as they are). */

const SNAKE = /_([a-z0-9])/g;

export function camelKey(key: string): string {
  return /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(key) ? key.replace(SNAKE, (_, c: string) => c.toUpperCase()) : key;
}

export function camelize<T = unknown>(value: unknown, parentKey = ''): T {
  if (Array.isArray(value)) return value.map((v) => camelize(v, parentKey)) as T;
  if (value === null || typeof value !== 'object') return value as T;
  if (parentKey === 'metadata') return value as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[camelKey(k)] = camelize(v, k);
  }
  return out as T;
}
