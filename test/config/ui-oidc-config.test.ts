/**
 * `ui.oidc`, the web UI's single sign-on configuration (issue 8 §2): defaults, the rules checked
 * at start (a redirect URI needs `server.publicUrl`; the issuer is https or loopback http; only
 * asymmetric algorithms; `openid` among the scopes; no unknown key), and the client secret from
 * CUSTODY_UI_OIDC_CLIENT_SECRET — which never appears in an error message.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type ConfigInput } from '../../src/config/config.js';
import { CustodyError } from '../../src/domain/errors.js';

const SERVER = { publicUrl: 'https://custody.example.com' };
const OIDC = { issuer: 'https://login.example.com', clientId: 'custody-ui' };

function refusal(input: ConfigInput, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(input, env);
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('ui.oidc configuration', () => {
  it('is absent by default, and fills in scopes, algorithms and the label', () => {
    expect(resolveConfig(undefined, {}).ui.oidc).toBeUndefined();
    expect(resolveConfig({ server: SERVER, ui: { oidc: OIDC } }, {}).ui.oidc).toEqual({
      ...OIDC,
      scopes: ['openid'],
      algorithms: ['ES256', 'EdDSA', 'RS256'],
      label: 'Sign in with single sign-on',
    });
  });

  it('refuses ui.oidc without server.publicUrl, saying the redirect URI needs it', () => {
    const message = refusal({ ui: { oidc: OIDC } });
    expect(message).toContain('ui.oidc: needs server.publicUrl');
    expect(message).toContain('/sign-in/oidc/callback');
  });

  it('refuses an http issuer that is not this machine, and accepts loopback http', () => {
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, issuer: 'http://login.example.com' } } })).toMatch(/ui\.oidc\.issuer: must be an https URL/);
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, issuer: 'https://login.example.com?tenant=1' } } })).toMatch(/ui\.oidc\.issuer/);
    expect(resolveConfig({ server: SERVER, ui: { oidc: { ...OIDC, issuer: 'http://127.0.0.1:9000' } } }, {}).ui.oidc?.issuer).toBe('http://127.0.0.1:9000');
  });

  it('refuses HMAC and none among the algorithms, scopes without openid, and unknown keys', () => {
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, algorithms: ['HS256'] } } })).toMatch(/ui\.oidc\.algorithms\.0: unsupported signature algorithm "HS256".*HMAC algorithms are never accepted/);
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, algorithms: ['none'] } } })).toMatch(/unsupported signature algorithm "none"/);
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, scopes: ['profile'] } } })).toMatch(/ui\.oidc\.scopes: must include openid/);
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, scopes: ['openid', 'a b'] } } })).toMatch(/ui\.oidc\.scopes\.1/);
    expect(refusal({ server: SERVER, ui: { oidc: { ...OIDC, redirectUri: 'https://x' } } })).toMatch(/unknown key ui\.oidc\.redirectUri/);
    expect(refusal({ server: SERVER, ui: { oidc: { issuer: OIDC.issuer } } })).toMatch(/ui\.oidc\.clientId/);
  });

  it('takes the client secret from CUSTODY_UI_OIDC_CLIENT_SECRET, and never repeats it in an error', () => {
    const secret = 's3cr3t-value-that-must-not-leak';
    expect(resolveConfig({ server: SERVER, ui: { oidc: OIDC } }, { CUSTODY_UI_OIDC_CLIENT_SECRET: secret }).ui.oidc?.clientSecret).toBe(secret);
    const withoutOidc = refusal({}, { CUSTODY_UI_OIDC_CLIENT_SECRET: secret });
    expect(withoutOidc).toContain('CUSTODY_UI_OIDC_CLIENT_SECRET is set but ui.oidc is not configured');
    expect(withoutOidc).not.toContain(secret);
    const tooLong = 'x'.repeat(1025);
    const message = refusal({ server: SERVER, ui: { oidc: { ...OIDC, clientSecret: tooLong } } });
    expect(message).toMatch(/ui\.oidc\.clientSecret: is too long/);
    expect(message).not.toContain(tooLong);
    expect(refusal({ ui: { oidc: OIDC } }, { CUSTODY_UI_OIDC_CLIENT_SECRET: secret })).not.toContain(secret);
  });
});
