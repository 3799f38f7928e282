// TOTP per RFC 6238 (HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps and Supabase Auth
// use it, with base32 secrets (RFC 4648, no padding). node:crypto: JSR's std is unreachable here.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const STEP_SECONDS = 30;
/** Codes of the neighbouring steps are accepted too: clocks drift and people type slowly. */
export const WINDOW = 1;

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array {
  const clean = text.toUpperCase().replace(/=+$/, "").replace(/\s/g, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of clean) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error("not base32");
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

export function newSecret(): string {
  return base32Encode(randomBytes(20));
}

export function stepAt(ms: number): bigint {
  return BigInt(Math.floor(ms / 1000 / STEP_SECONDS));
}

/** The 6-digit code of a time step (RFC 4226's dynamic truncation). */
export function codeAt(secret: string, step: bigint): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(step);
  const mac = createHmac("sha1", Buffer.from(base32Decode(secret))).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const n = ((mac[offset] & 127) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) |
    mac[offset + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

/** The step whose code this is, within the window around `nowMs`, or null. */
export function matchingStep(secret: string, code: string, nowMs = Date.now()): bigint | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = stepAt(nowMs);
  for (let d = -WINDOW; d <= WINDOW; d++) {
    const step = now + BigInt(d);
    const expected = Buffer.from(codeAt(secret, step));
    if (timingSafeEqual(expected, Buffer.from(code))) return step;
  }
  return null;
}

/** The otpauth URI an authenticator app enrols from. */
export function otpauthUri(secret: string, account: string, issuer: string): string {
  return `otpauth://totp/${encodeURIComponent(issuer)}:${
    encodeURIComponent(account)
  }?secret=${secret}&issuer=${
    encodeURIComponent(issuer)
  }&algorithm=SHA1&digits=6&period=${STEP_SECONDS}`;
}
