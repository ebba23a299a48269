#!/usr/bin/env node
// Runs the compiled CLI when built (npm run build), else the TypeScript sources through ts-node.
const fs = require('node:fs');
const path = require('node:path');
const built = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(built) && !process.env.LONGRUN_FROM_SOURCE) {
  require(built).main(process.argv);
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv);
}
