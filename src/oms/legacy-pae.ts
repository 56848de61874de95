/**
 * The message that `model_signing` v0.2.x signed for key and certificate bundles, which is not the
 * DSSE PAE: the tag is spelled `DSSEV1` and the payload went in as Python's `repr()` of a bytes
 * object (`b'…'`), and the ECDSA hash was always SHA-256. Verifiers try the standard PAE first
 * and fall back to this, so v0.2 signatures still verify (reference/oms.md §1.6).
 * Spec: ../../shared/reference/oms.md §1.6.
 */

const BACKSLASH = 0x5c;
const SINGLE_QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;

/**
 * Python's `repr(bytes)`: `b'…'` with `\\`, the quote, `\t`, `\n`, `\r` escaped, `\xNN` for
 * other bytes below 0x20 or from 0x7f, and double quotes only when the data holds `'` and no `"`
 * (CPython `bytes_repr`).
 */
export function pythonBytesRepr(data: Uint8Array): string {
  const quote = data.includes(SINGLE_QUOTE) && !data.includes(DOUBLE_QUOTE) ? DOUBLE_QUOTE : SINGLE_QUOTE;
  let out = `b${String.fromCharCode(quote)}`;
  for (const byte of data) {
    if (byte === quote || byte === BACKSLASH) out += `\\${String.fromCharCode(byte)}`;
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}${String.fromCharCode(quote)}`;
}

/**
 * The v0.2 pre-authentication encoding:
 * `utf8("DSSEV1 <len(type)> <type> <len(payload)> " + repr(payload))`. Lengths are in bytes.
 */
export function legacyPae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.from(`DSSEV1 ${type.length} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`, 'utf8');
}
