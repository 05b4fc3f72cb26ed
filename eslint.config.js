// Lint for the whole project: typescript-eslint and eslint-plugin-svelte's recommended rules, and
// the import layering as no-restricted-imports (test/layers.test.ts checks the same order on the
// real graph; this rule names the broken boundary in the editor as it is typed).
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

/** src/main's folders, top first: a folder may import only folders after it (see src/main/README.md). */
const LAYERS = [
  ['cli'],
  ['shell'],
  ['http'],
  ['workflows'],
  ['app'],
  ['report'],
  ['rating'],
  ['alol'],
  ['samples'],
  ['rewards'],
  ['models'],
  ['data'],
  ['stats'],
  ['jobs'],
  ['lm'],
  ['core', 'db'],
];

const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(0, i + 1).flat();
  return layer.map((folder) => ({
    files: [`src/main/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: above
            .filter((other) => other !== folder)
            .map((other) => ({
              group: [`../${other}/*`, `../../${other}/*`, `../../../${other}/*`],
              message: `src/main/${folder} is below ${other} in the layers: it must not import it`,
            })),
        },
      ],
    },
  }));
});

export default ts.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'native/**/build/**', 'bench/results/**'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // Unused names fail the type check already (noUnusedLocals); a leading _ marks a deliberate one.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // `any` needs a comment saying why; the few that have one disable this line by line.
      '@typescript-eslint/no-explicit-any': 'error',
      // State classes keep some maps non-reactive on purpose (caches with an explicit version
      // signal) and build throwaway Sets inside $derived; SvelteMap there would only add updates.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    // The native addon's loader is CommonJS, loaded by require() from its package.
    files: ['native/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'svelte/no-inner-declarations': 'off' },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // The renderer and the pages the tests drive run in a browser.
    files: ['src/renderer/**/*.{ts,svelte}', 'test/e2e/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!zod$|\\./).*', message: 'src/shared imports only zod and itself' }] },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,svelte}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**', '**/preload/**', 'electron', 'node:*'],
              message: 'the renderer reaches the backend only through src/shared',
            },
          ],
        },
      ],
    },
  },
  ...layerRules,
);
