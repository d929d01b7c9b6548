#!/usr/bin/env node
// The kubetime CLI, built by `npm run build`.
require('../dist/apps/cli/src/main.js');
