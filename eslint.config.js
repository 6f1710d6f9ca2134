// Lint checks correctness and the module boundaries of DESIGN.md; Prettier alone decides format.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Imports each folder of src/ must never make (STYLE.md §3.2). */
const forbidden = {
  shared: ['callback', 'store', 'server', 'receiver', 'client', 'cli'],
  callback: ['store', 'server', 'receiver', 'client', 'cli'],
  store: ['callback', 'server', 'receiver', 'client', 'cli'],
  server: ['receiver', 'client', 'cli'],
  receiver: ['server', 'store', 'cli'],
  client: ['server', 'store', 'receiver', 'cli'],
  cli: ['store'],
};

const folderPatterns = (folder, banned) =>
  banned.map((b) => ({
    group: [`**/${b}/*`, `../${b}/*`, `../../${b}/*`],
    message: `src/${folder} must not import src/${b} (DESIGN.md module boundaries).`,
  }));

/**
 * Inside src/server, the request pipeline (routes, dispatch, the HTTP adapter) and the operations
 * sit on top: the callback step, the PostObject form and the XML documents serve them and must
 * not import them back. Later flat-config entries replace a rule's options, so each entry repeats
 * the src/server boundary.
 */
const serverTop = [
  '**/operations/*',
  '**/pipeline/dispatch.ts',
  '**/pipeline/routes.ts',
  '**/pipeline/http-adapter.ts',
];
const serverInner = ['callback', 'post-object', 'responses'].map((sub) => ({
  files: [`src/server/${sub}/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...folderPatterns('server', forbidden.server),
          {
            group: serverTop,
            message: `src/server/${sub} must not import the operations or the request pipeline above it.`,
          },
        ],
      },
    ],
  },
}));

const boundaries = Object.entries(forbidden).map(([folder, banned]) => ({
  files: [`src/${folder}/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: folderPatterns(folder, banned) }],
  },
}));

/**
 * upcall-verify is installed on its own by app servers, with no dependencies: its sources import
 * only node: built-ins and each other, never the root package's src/ nor any npm package.
 */
const verifyPackage = {
  files: ['packages/verify/src/**/*.ts'],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(?!node:|\\.{1,2}/)',
            message:
              'upcall-verify has no runtime dependencies: import node: built-ins or its own files only.',
          },
          {
            group: ['**/src/*', '../../*'],
            message: 'upcall-verify must not import the root package.',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      'bench/node_modules/',
      'packages/*/dist/',
      'test-artifacts/',
      'public/vendor/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  ...boundaries,
  ...serverInner,
  verifyPackage,
);
