// After tsc: bundle the CLI into one file (scripts/bundle.mjs), then make it executable (tsc and
// esbuild do not keep file modes).
import { chmodSync } from 'node:fs';
import './bundle.mjs';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
