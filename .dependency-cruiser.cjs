/**
 * The dependency rules of the house (DESIGN.md, "Layout and dependency direction"), checked by
 * `npm run deps:check` and by `npm test` before vitest. Arrows go one way:
 *
 *   bot/ -> runbooks/ -> commands/ -> services/
 *
 * Type-only imports count too: a type that points the wrong way is a design that points the
 * wrong way. Test code (`*.test.ts`, `testing/` folders, test/) may reach across layers to drive the
 * real thing, but it is still held to "no cycles". `deps:check` cruises every one of bot/,
 * runbooks/, commands/, services/, test/, bench/ and scripts/ that exists.
 */

/**
 * Files that only tests run: unit tests beside their code and the helpers beside them, which live
 * in a folder named `testing/` wherever they are (test/testing/ for the suites in test/). One name,
 * so that this rule, a reader and a search all find them the same way.
 */
const TEST_SUPPORT = '(^|/)testing/';
const TEST_CODE = `(\\.test\\.ts$|${TEST_SUPPORT})`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment:
        'No import cycles anywhere: a cycle means two modules cannot be understood, tested or moved apart ' +
        '(the command path once formed a 15-file cycle between bot/ and commands/).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'services-import-no-layer-above',
      comment:
        'services/ is the stack itself (the four services, their kit and clients, the Stack port and drivers): ' +
        'it must run and be tested without the bot, so it imports neither bot/, runbooks/ nor commands/.',
      severity: 'error',
      from: { path: '^services/' },
      to: { path: '^(bot|runbooks|commands)/' },
    },
    {
      name: 'commands-import-no-bot',
      comment:
        'commands/ are plain handlers over ports: what they need from the bot (the authorization decision, ' +
        'the audit-log reader) is declared in commands/ports.ts and the bot implements it. They import ' +
        'neither bot/ nor runbooks/ (runbook steps call commands, not the other way round).',
      severity: 'error',
      from: { path: '^commands/', pathNot: TEST_CODE },
      to: { path: '^(bot|runbooks)/' },
    },
    {
      name: 'runbooks-import-no-bot',
      comment:
        'runbooks/ (the runbook engine, when it exists) sits between bot/ and commands/: its steps call what ' +
        'commands call, and the bot drives it; it never imports bot/.',
      severity: 'error',
      from: { path: '^runbooks/', pathNot: TEST_CODE },
      to: { path: '^bot/' },
    },
    {
      name: 'slack-only-in-bot-slack',
      comment:
        'Only bot/slack/ knows Slack (Bolt, the Web API, Block Kit); approvals, the trail, authorization and ' +
        'the command path stay Slack-free so the console and the CLI share them. The composition roots ' +
        '(bot/main.ts, the CLI) may name Slack types to wire things up. Tests may use a real Slack client ' +
        'against the Slack stand-in.',
      severity: 'error',
      from: {
        path: '^(bot|runbooks|commands|services)/',
        pathNot: ['^bot/slack/', '^bot/main\\.ts$', '^bot/cli[^/]*\\.(ts|js)$', TEST_CODE],
      },
      to: { path: '(^|/)node_modules/@slack/' },
    },
    {
      name: 'production-imports-no-test',
      comment:
        'Production code never imports test/ (kits, stand-ins, fixtures) nor the test helpers beside the code: ' +
        'what a test needs from production is exported by production, not the other way round. Tests, their ' +
        'helpers and the benchmarks may.',
      severity: 'error',
      from: { path: '^(bot|runbooks|commands|services|scripts)/', pathNot: [TEST_CODE, '(^|/)bench/'] },
      to: { path: `^test/|${TEST_SUPPORT}` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Count `import type` too (see above).
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
