// Checking a custody entry in the browser, without trusting the server's word for it:
// the leaf hash is H(0x00 || RFC 8785 canonical JSON of the leaf) and the inclusion proof
// leads from it to the checkpoint's root (RFC 9162 2.1.3.2). SHA-256 by WebCrypto.

export type ProofStatus = "verified" | "pending" | "failed" | "unavailable";

/** RFC 8785 (JCS): keys sorted by UTF-16 code units, ECMAScript number and string forms. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** RFC 9162 2.1.3.2: does `path` lead from leaf `index` to `root` of a tree of `size`? */
export async function inclusionHolds(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(NODE, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(NODE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

export interface EntryToCheck {
  index: number | null;
  leaf: Record<string, unknown>;
  leaf_hash: string;
  inclusion_proof: string[] | null;
}

/** The entry's own hash is right and it is in the checkpoint (root of `size` leaves). */
export async function checkEntry(entry: EntryToCheck, size: number, root: string): Promise<ProofStatus> {
  if (entry.index === null || entry.inclusion_proof === null || entry.index >= size) return "pending";
  if (typeof crypto === "undefined" || !crypto.subtle) return "unavailable";
  const stated = fromBase64(entry.leaf_hash);
  const computed = await sha256(LEAF, new TextEncoder().encode(canonicalJson(entry.leaf)));
  if (!same(stated, computed)) return "failed";
  const path = entry.inclusion_proof.map(fromBase64);
  return (await inclusionHolds(computed, entry.index, size, path, fromBase64(root))) ? "verified" : "failed";
}
