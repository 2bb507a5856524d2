// After tsc: make the bin executable (tsc does not keep file modes), then bundle the CLI and record
// its code cache (scripts/bundle.mjs).
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
await import('./bundle.mjs');
