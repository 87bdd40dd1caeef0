/** Keeps the layers of DESIGN.md true: imports only point down, services never import each other. */
module.exports = {
  forbidden: [
    {
      name: 'contracts-import-nothing-of-ours',
      comment: 'contracts is the bottom layer: TypeBox only.',
      severity: 'error',
      from: { path: '^src/contracts/' },
      to: { path: '^src/(bus|engines|services|platform|app)/' },
    },
    {
      name: 'bus-imports-contracts-only',
      severity: 'error',
      from: { path: '^src/bus/' },
      to: { path: '^src/(engines|services|platform|app)/' },
    },
    {
      name: 'engines-import-bus-and-contracts-only',
      severity: 'error',
      from: { path: '^src/engines/' },
      to: { path: '^src/(services|platform|app)/' },
    },
    {
      name: 'engines-use-the-bus-kit',
      comment: 'An engine sees the bus through its two faces only: the engine kit and the public API (tests also the test support).',
      severity: 'error',
      from: { path: '^src/engines/' },
      to: { path: '^src/bus/', pathNot: '^src/bus/(index\\.ts|kit/index\\.ts|testing/index\\.ts)$' },
    },
    {
      name: 'services-and-app-use-the-bus-api',
      comment: 'Services and the app see the bus through its public API (src/bus/index.ts) only.',
      severity: 'error',
      from: { path: '^src/(services|app)/' },
      to: { path: '^src/bus/', pathNot: '^src/bus/index\\.ts$' },
    },
    {
      name: 'bus-test-support-only-in-tests',
      comment: 'src/bus/testing/ (conformance suite, test databases) is imported by tests only, never shipped.',
      severity: 'error',
      from: { pathNot: ['\\.test\\.ts$', '^src/bus/testing/'] },
      to: { path: '^src/bus/testing/' },
    },
    {
      name: 'engines-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/engines/([^/]+)/' },
      to: { path: '^src/engines/', pathNot: '^src/engines/$1/' },
    },
    {
      name: 'platform-imports-contracts-only',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(bus|engines|services|app)/' },
    },
    {
      name: 'services-do-not-import-app-or-engines',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^src/(app|engines)/' },
    },
    {
      name: 'services-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/', pathNot: ['^src/services/$1/', '^src/services/[^/]+\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
