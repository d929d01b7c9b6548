// Two projects: fast unit specs beside the code, and end-to-end suites in test/ that start real
// servers against a real PostgreSQL. swc strips types only; `npm run typecheck` is the type gate.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { decoratorMetadata: true, legacyDecorator: true } } }] };
const moduleNameMapper = {
  '^@kubetime/(event-store|api-machinery|apiserver|encryption|platform|etcd-snapshot|time-travel|etcd-compat|controllers)$': '<rootDir>/libs/$1/src',
};
module.exports = {
  testTimeout: 120000,
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'], transform, moduleNameMapper, testEnvironment: 'node' },
    { displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], transform, moduleNameMapper, testEnvironment: 'node', globalSetup: '<rootDir>/test/support/global-setup.ts', globalTeardown: '<rootDir>/test/support/global-teardown.ts' },
  ],
};
