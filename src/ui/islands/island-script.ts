/**
 * The transparency-log explorer's browser script, served as `/ui/assets/verify-log.js`
 * (`assets/ui-assets.ts`). The island is TypeScript compiled by the build (`tsc`) like the rest
 * of the server, so the script is read from the compiled output once, at startup: `verify-log.js`
 * beside this module in `dist/ui/islands/` (or, when the server runs from sources under a test
 * runner, from the built `dist/` of the same checkout). Its imports of the import-free portable
 * log modules (`log/portable-*.js`) are inlined — each module body wrapped in a function so its
 * private names cannot collide — which makes one self-contained module script: one asset, no
 * bundler, and the very same verification code the Node tests exercise.
 *
 * When no compiled island is found (or only a stale `dist/` the sources cannot use), the asset is
 * a small script that says so on the page instead of verifying (the page itself still works
 * without JavaScript). A built server whose own island cannot be inlined refuses to start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ISLAND = 'verify-log.js';
/** `import { a, b } from '../../log/portable-x.js';` as tsc emits it. */
const PORTABLE_IMPORT = /^import \{([^}]*)\} from '\.\.\/\.\.\/log\/(portable-[a-z-]+)\.js';$/gm;

const UNAVAILABLE = `const status = document.querySelector('[data-verifier-status]');
if (status !== null) status.textContent = 'Verification in the browser is unavailable: this server was started without its compiled browser script (npm run build).';
`;

/** The compiled island: beside this module (a built server), else in the checkout's `dist/` (sources under a test runner). */
function islandFile(): { file: string; beside: boolean } | undefined {
  const candidates = [new URL(`./${ISLAND}`, import.meta.url), new URL(`../../../dist/ui/islands/${ISLAND}`, import.meta.url)];
  for (const [i, candidate] of candidates.entries()) {
    const file = fileURLToPath(candidate);
    if (existsSync(file)) return { file, beside: i === 0 };
  }
  return undefined;
}

/** The script with its portable imports inlined; throws when the compiled output has another shape. */
export function inlineIsland(islandSource: string, readModule: (name: string) => string): string {
  const withoutMap = (text: string): string => text.replace(/^\/\/# sourceMappingURL=.*$/gm, '');
  let found = 0;
  const script = withoutMap(islandSource).replace(PORTABLE_IMPORT, (_line, names: string, module: string) => {
    found++;
    const imported = names
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    if (imported.some((n) => !/^[A-Za-z_$][\w$]*$/.test(n))) throw new Error(`${ISLAND}: renamed imports from ${module} cannot be inlined`);
    const body = withoutMap(readModule(module));
    if (/^\s*import\s/m.test(body)) throw new Error(`${module}.js imports something: it cannot be inlined into ${ISLAND}`);
    const local = body.replace(/^export (?=(async )?function |const |class |let )/gm, '');
    if (/^export /m.test(local)) throw new Error(`${module}.js has an export form the inliner does not know`);
    return `const { ${imported.join(', ')} } = (() => {\n${local}\nreturn { ${imported.join(', ')} };\n})();`;
  });
  if (found === 0 || /^import /m.test(script)) throw new Error(`${ISLAND}: expected only imports of ../../log/portable-*.js`);
  return script;
}

function loadIsland(): string {
  const found = islandFile();
  if (found === undefined) return UNAVAILABLE;
  const logDir = new URL('../../log/', pathToFileURL(found.file));
  try {
    return inlineIsland(readFileSync(found.file, 'utf8'), (module) => readFileSync(fileURLToPath(new URL(`${module}.js`, logDir)), 'utf8'));
  } catch (error) {
    // A built server with a broken island must not start; sources beside a stale dist/ still may.
    if (found.beside) throw error;
    return UNAVAILABLE;
  }
}

/** The served script (read once at startup). */
export const VERIFY_LOG_JS: string = loadIsland();
