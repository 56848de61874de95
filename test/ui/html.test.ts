/**
 * The UI's HTML templates escape by default (issue 8 §3): interpolated strings never become
 * markup — in text or in quoted attributes — only `Html` values do; `safeHref` lets no
 * script-running URL into an attribute.
 */
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, Html, safeHref, trustedMarkup } from '../../src/ui/html.js';

const PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)", '&lt;already&gt;', '<!--', ']]>', '\u2028</title>'];

describe('html templates', () => {
  it.each(PAYLOADS)('escapes %j in text and in attribute values', (payload) => {
    const out = html`<p title="${payload}">${payload}</p>`.toString();
    expect(out).not.toMatch(/<script|<img|<!--/);
    expect(out.startsWith('<p title="')).toBe(true);
    // The only quotes and angle brackets left are the template's own.
    expect(out.match(/"/g)).toHaveLength(2);
    expect(out.match(/</g)).toHaveLength(2);
    expect(out).toContain(escapeHtml(payload));
  });

  it('inserts nested templates and arrays of them as markup, and escapes strings inside arrays', () => {
    const items = ['a<b', 'c&d'];
    const out = html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${['<x>']}`.toString();
    expect(out).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>&lt;x&gt;');
  });

  it('renders numbers, and nothing for null, undefined and booleans', () => {
    expect(html`${0}|${12.5}|${null}|${undefined}|${true}|${false}`.toString()).toBe('0|12.5||||');
  });

  it('cannot be given markup except through html or trustedMarkup', () => {
    expect(() => new Html('<b>', Symbol('Html'))).toThrow(TypeError);
    // A look-alike object is text, not markup.
    const fake = { toString: () => '<script>' } as unknown as string;
    expect(html`${fake}`.toString()).toBe('&lt;script&gt;');
    expect(html`${trustedMarkup('<svg></svg>')}`.toString()).toBe('<svg></svg>');
  });
});

describe('safeHref', () => {
  it.each([
    ['/models/team/m', '/models/team/m'],
    ['https://example.com/x?y=1', 'https://example.com/x?y=1'],
    ['http://example.com/', 'http://example.com/'],
  ])('keeps %j', (url, expected) => {
    expect(safeHref(url)).toBe(expected);
  });

  it.each(['javascript:alert(1)', 'JAVASCRIPT:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', '//evil.example/x', '/\\evil.example', 'vbscript:x', 'relative/path', ''])(
    'turns %j into #',
    (url) => {
      expect(safeHref(url)).toBe('#');
    },
  );
});
