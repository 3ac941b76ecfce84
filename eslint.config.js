// @ts-check
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const unusedVars = {
  args: 'after-used',
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  caughtErrorsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
  ignoreRestSiblings: true,
};

// Workflow code runs in Temporal's deterministic sandbox and is bundled by webpack: no Node built-ins, no
// I/O libraries, no SDK packages other than @temporalio/workflow (type-only imports are erased, so allowed).
const workflowForbidden = [
  ...builtinModules.filter((m) => !m.startsWith('_')),
  'execa',
  '@temporalio/worker',
  '@temporalio/client',
  '@temporalio/activity',
];

export default defineConfig(
  {
    ignores: ['dist/', 'node_modules/', '.tools/', '.state/', 'coverage/', 'test-results/'],
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    rules: {
      'no-unused-vars': ['error', unusedVars],
    },
  },
  {
    files: ['**/*.ts'],
    // test/deno is outside tsconfig.json (it runs on Deno's types): linted below without type information.
    ignores: ['test/deno/**'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', unusedVars],
    },
  },
  {
    files: ['test/deno/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', unusedVars],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: workflowForbidden.map((name) => ({
            name,
            message: 'workflows/ imports only @temporalio/workflow and the pure core (shared/notes/style.md).',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: ['node:*'],
              message: 'No Node built-ins in workflow code: it runs in the Temporal workflow sandbox.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
