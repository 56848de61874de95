/**
 * The UI's one stylesheet, served from `/ui/assets/custody.css` (the CSP allows styles from this
 * server only, never inline). Colours meet WCAG AA contrast on white; statuses never rely on
 * colour alone (the pill carries an icon and text).
 */
export const CUSTODY_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --accent: #0b5cad; --pass: #1a7f37; --fail: #b3261e; --warn: #8a5300; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f2b600; outline-offset: 1px; }
.skip { position: absolute; left: -9999px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
header.site { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 8px 24px; border-bottom: 1px solid var(--line); }
header.site .brand { font-weight: 700; font-size: 18px; text-decoration: none; color: var(--fg); }
header.site nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
header.site nav a[aria-current="page"] { font-weight: 700; }
header.site .who { margin-left: auto; display: flex; flex-wrap: wrap; gap: 12px; align-items: center; color: var(--muted); font-size: 13px; }
header.site .who form { display: inline; }
main { padding: 16px 24px 48px; max-width: 1200px; }
footer.site { padding: 8px 24px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
h1 { font-size: 24px; margin: 8px 0 16px; }
h2 { font-size: 19px; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
code, .digest { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
code.digest { display: inline-block; max-width: 22ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
.muted, .unverified { color: var(--muted); }
.pill { display: inline-block; padding: 0 8px; border-radius: 10px; border: 1px solid currentColor; font-size: 12px; font-weight: 600; white-space: nowrap; }
.pill-pass { color: var(--pass); } .pill-fail, .pill-revoked, .pill-error { color: var(--fail); } .pill-missing, .pill-expired, .pill-pending { color: var(--warn); }
.error { color: var(--fail); }
form.stack { display: grid; gap: 8px; max-width: 480px; }
label { font-weight: 600; }
input[type="text"], input[type="password"], input[type="search"], textarea, select { font: inherit; padding: 6px 8px; border: 1px solid #8c959f; border-radius: 4px; width: 100%; }
button { font: inherit; padding: 6px 14px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
header.site button { background: #fff; color: var(--accent); padding: 2px 10px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 8px; }
.filters label { display: grid; gap: 2px; font-size: 13px; }
.filters input { width: auto; }
.empty { border: 1px dashed var(--line); padding: 16px; border-radius: 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
.badge { display: inline-block; padding: 0 6px; border: 1px solid var(--line); border-radius: 4px; font-size: 12px; }
.gate-card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0 16px; }
.gate-card h3 { margin: 4px 0; font-size: 16px; }
pre { background: #f6f8fa; padding: 8px 12px; border-radius: 4px; overflow-x: auto; }
`;
