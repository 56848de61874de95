/**
 * A unified-style line diff (the format of `diff -u`, https://www.gnu.org/software/diffutils/manual/html_node/Unified-Format.html)
 * for `policy history`: which lines of a policy changed between two versions. Policies are
 * small, so a longest-common-subsequence table is enough; past a size bound the diff degrades to
 * "every old line removed, every new line added", which is still correct, just less precise.
 */

const CONTEXT = 3;
/** Cells of the LCS table (lines before × lines after) computed at most. */
const MAX_TABLE_CELLS = 4_000_000;

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

/** `--- before` / `+++ after` headers, then `@@ -a,b +c,d @@` hunks with three lines of context; '' when equal. */
export function unifiedLineDiff(before: readonly string[], after: readonly string[], labels: { readonly before: string; readonly after: string }): string {
  const ops = diffOps(before, after);
  if (ops.every((op) => op.kind === ' ')) return '';
  const out = [`--- ${labels.before}`, `+++ ${labels.after}`];
  // Positions (0-based) in `before` and `after` at the start of every op.
  const starts: { a: number; b: number }[] = [];
  let a = 0;
  let b = 0;
  for (const op of ops) {
    starts.push({ a, b });
    if (op.kind !== '+') a++;
    if (op.kind !== '-') b++;
  }
  let i = 0;
  while (i < ops.length) {
    if (ops[i]?.kind === ' ') {
      i++;
      continue;
    }
    // A hunk: from CONTEXT lines before the first change to CONTEXT lines after the last change
    // that is not separated from the next by more than 2 × CONTEXT unchanged lines.
    const first = Math.max(0, i - CONTEXT);
    let last = i;
    let j = i;
    while (j < ops.length) {
      if (ops[j]?.kind !== ' ') {
        last = j;
        j++;
        continue;
      }
      let run = j;
      while (run < ops.length && ops[run]?.kind === ' ') run++;
      if (run === ops.length || run - j > 2 * CONTEXT) break;
      j = run;
    }
    const end = Math.min(ops.length, last + CONTEXT + 1);
    const hunk = ops.slice(first, end);
    const start = starts[first] ?? { a: 0, b: 0 };
    const countA = hunk.filter((op) => op.kind !== '+').length;
    const countB = hunk.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${countA === 0 ? start.a : start.a + 1},${countA} +${countB === 0 ? start.b : start.b + 1},${countB} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.line}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

function diffOps(before: readonly string[], after: readonly string[]): Op[] {
  // Common prefix and suffix first: most policy edits touch a few lines in the middle.
  let prefix = 0;
  while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < before.length - prefix &&
    suffix < after.length - prefix &&
    before[before.length - 1 - suffix] === after[after.length - 1 - suffix]
  ) suffix++;
  const a = before.slice(prefix, before.length - suffix);
  const b = after.slice(prefix, after.length - suffix);
  const head: Op[] = before.slice(0, prefix).map((line) => ({ kind: ' ', line }));
  const tail: Op[] = before.slice(before.length - suffix).map((line) => ({ kind: ' ', line }));
  return [...head, ...middleOps(a, b), ...tail];
}

function middleOps(a: readonly string[], b: readonly string[]): Op[] {
  if ((a.length + 1) * (b.length + 1) > MAX_TABLE_CELLS) {
    return [...a.map((line): Op => ({ kind: '-', line })), ...b.map((line): Op => ({ kind: '+', line }))];
  }
  // lcs[i][j] = length of the LCS of a[i..] and b[j..], stored row-major.
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || (lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0))) {
      // Removals before additions, as `diff -u` prints them.
      ops.push({ kind: '-', line: a[i] ?? '' });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] ?? '' });
      j++;
    }
  }
  return ops;
}
