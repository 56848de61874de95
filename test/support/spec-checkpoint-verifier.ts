/**
 * A checkpoint verifier written from the C2SP signed-note and tlog-checkpoint texts alone, for
 * tests: it shares no code with src/log (key decoding via JWK, its own line splitting and key-ID
 * hash), so a checkpoint it accepts is one any spec-following verifier accepts.
 * Spec: https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint
 */
import { createHash, createPublicKey, verify } from 'node:crypto';

export function verifyFromSpec(note: string, vkey: string): { origin: string; size: bigint; root: Buffer } {
  const [name, idHex, keyB64] = [vkey.slice(0, vkey.indexOf('+')), vkey.split('+')[1], vkey.split('+').slice(2).join('+')];
  const keyBytes = Buffer.from(keyB64, 'base64');
  if (keyBytes[0] !== 0x01 || keyBytes.length !== 33) throw new Error('not an Ed25519 vkey');
  const publicKey = keyBytes.subarray(1);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.of(0x0a, 0x01), publicKey])).digest().subarray(0, 4);
  if (id.toString('hex') !== idHex) throw new Error('vkey ID mismatch');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });

  const separator = note.lastIndexOf('\n\n');
  const text = note.slice(0, separator + 1);
  const signatures = note.slice(separator + 2).split('\n');
  if (signatures.pop() !== '') throw new Error('note must end with a newline');
  const verified = signatures.some((line) => {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/u.exec(line);
    if (match?.[1] !== name) return false;
    const blob = Buffer.from(match[2] ?? '', 'base64');
    return blob.subarray(0, 4).equals(id) && verify(null, Buffer.from(text, 'utf8'), key, blob.subarray(4));
  });
  if (!verified) throw new Error('no valid signature');
  const [origin = '', size = '', rootLine = ''] = text.split('\n');
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error('bad size');
  return { origin, size: BigInt(size), root: Buffer.from(rootLine, 'base64') };
}

