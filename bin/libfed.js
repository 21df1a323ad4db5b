#!/usr/bin/env node
'use strict';
// The project runs its TypeScript as it is, with no build step (`npm start` is `node --import tsx`):
// tsx's register hook lets this process load cli/main.ts the same way.
require('tsx/cjs/api').register();
require('../cli/main.ts');
