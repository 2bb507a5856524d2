// A small rule set we mean: type-aware checks that catch real bugs, and the layering of DESIGN.md section 2.
import tseslint from 'typescript-eslint';

const layering = (from, forbidden, why) => ({
  files: [`${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message: why })) }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'src/drivers/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['test/**/*.ts', 'bench/**'], rules: { 'no-console': 'off' } },
  layering('src/runtime', ['**/server/**', '**/tools/**', '@modelcontextprotocol/server', '@modelcontextprotocol/node', '**/cli/**'], 'runtime/ knows nothing of MCP or the layers above it (DESIGN.md section 2)'),
  layering('src/tools', ['**/server/**', '@modelcontextprotocol/*', '**/cli/**'], 'tools/ are data over the runtime API; MCP lives in server/ (DESIGN.md section 2)'),
  layering('src/server', ['**/cli/**'], 'server/ must not import the CLI'),
);
