#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/**
 * The bin. Server start-up is a target (DESIGN.md section 9), and most of it used to be Node
 * resolving and compiling ~500 modules. `npm run build` bundles src/main.ts and its dependencies into
 * one CommonJS file, dist/hangar.cjs, and records V8's code cache for it after a real start
 * (scripts/bundle.mjs). This file compiles the bundle with that cache, so the functions a start needs
 * arrive compiled. A cache from another Node version or changed source is rejected by V8 and the
 * bundle compiles as usual; without a bundle (tsc output only) main.js is imported instead.
 */
const bundle = fileURLToPath(new URL('./hangar.cjs', import.meta.url));
const cacheFile = `${bundle}.cache`;

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

const source = readOptional(bundle);
if (source === undefined) {
  await import('./main.js');
} else {
  const script = new vm.Script(Module.wrap(source.toString('utf8')), { filename: bundle, cachedData: readOptional(cacheFile) });
  // Set by scripts/bundle.mjs only: the cache is written when a start it drives has exited.
  if (process.env.HANGAR_BUILD_CODE_CACHE === '1') {
    process.once('exit', () => {
      try {
        writeFileSync(cacheFile, script.createCachedData());
      } catch (error) {
        process.stderr.write(`hangar: could not write the code cache ${cacheFile}: ${String(error)}\n`);
      }
    });
  }
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const module = { exports: {} };
  run.call(module.exports, module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL('.', import.meta.url)));
}
