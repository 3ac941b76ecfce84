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

// Which way dependencies run: the contract and the pure core at the bottom; the host and the
// activities above them; the worker, the client and the CLI on top. A module never imports a layer
// above its own.
const above = (message, ...groups) => ({ group: groups, message });
const layering = {
  workflows: [
    above(
      'workflows/ import the contract and the pure core only.',
      '**/activities/**',
      '**/src/host/**',
      '**/src/worker/**',
      '**/src/client/**',
      '**/src/cli/**',
      '**/src/runsc/**',
      '**/src/rootfs/**',
    ),
  ],
  activities: [
    above(
      'activities/ import the contract and the host, never the worker, the client or the CLI.',
      '**/src/worker/**',
      '**/src/client/**',
      '**/src/cli/**',
      '**/workflows/**',
    ),
  ],
  host: [
    above(
      'The host edge imports no Temporal code and nothing above it.',
      '@temporalio/*',
      '**/activities/**',
      '**/workflows/**',
      '**/worker/**',
      '**/client/**',
      '**/cli/**',
    ),
  ],
  client: [
    above(
      'The client never loads the workflows, the activities, the worker or the CLI.',
      '**/activities/**',
      '**/workflows/**',
      '**/worker/**',
      '**/cli/**',
      '@temporalio/worker',
    ),
  ],
  core: [
    above(
      'The pure core imports no runtime, no Temporal and no I/O library.',
      'node:*',
      'execa',
      '@temporalio/*',
      '**/host/**',
      '**/runsc/**',
      '**/rootfs/**',
      '**/worker/**',
      '**/client/**',
      '**/cli/**',
    ),
  ],
};
const restrict = (patterns) => ({
  '@typescript-eslint/no-restricted-imports': [
    'error',
    { patterns: patterns.map((p) => ({ ...p, allowTypeImports: false })) },
  ],
});

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
            ...layering.workflows,
          ],
        },
      ],
    },
  },
  { files: ['activities/**/*.ts'], rules: restrict(layering.activities) },
  { files: ['src/host/**/*.ts', 'src/runsc/**/*.ts', 'src/rootfs/**/*.ts'], rules: restrict(layering.host) },
  { files: ['src/client/**/*.ts'], rules: restrict(layering.client) },
  {
    files: [
      'src/contract/{names,types,failures,index}.ts',
      'src/events/cloudevents.ts',
      'src/document/**/*.ts',
      'src/bundle/**/*.ts',
      'src/cell/**/*.ts',
      'src/placement/**/*.ts',
    ],
    rules: restrict(layering.core),
  },
);
