import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * Tiny pure-Python wheels made in the test (a wheel is a zip with a .dist-info): real packages for
 * real pip, with no public index involved. Built with python's zipfile, hashes in RECORD included.
 */
export interface WheelSpec {
  name: string;
  version: string;
  requires?: string[];
  /** Module source; default sets VERSION. */
  code?: string;
  /** Extra archive members (path → text): e.g. a path escaping the target to make pip fail mid-install. */
  extraFiles?: Record<string, string>;
}

const BUILDER = String.raw`
import base64, hashlib, json, sys, zipfile
spec = json.loads(sys.argv[1]); out = sys.argv[2]
name, version = spec['name'], spec['version']
mod = name.replace('-', '_')
dist = f"{mod}-{version}.dist-info"
files = {f"{mod}/__init__.py": spec.get('code') or f"VERSION = {version!r}\n"}
meta = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"] + [f"Requires-Dist: {r}" for r in spec.get('requires', [])]
files[f"{dist}/METADATA"] = "\n".join(meta) + "\n"
files[f"{dist}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: hangar-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
files[f"{dist}/top_level.txt"] = mod + "\n"
files.update(spec.get('extraFiles') or {})
record = []
for p, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    record.append(f"{p},sha256={digest},{len(data)}")
record.append(f"{dist}/RECORD,,")
files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
path = f"{out}/{mod}-{version}-py3-none-any.whl"
with zipfile.ZipFile(path, 'w') as z:
    for p, text in files.items():
        z.writestr(p, text)
print(path)
`;

export function buildWheel(dir: string, spec: WheelSpec): string {
  return execFileSync('/usr/bin/python3', ['-I', '-c', BUILDER, JSON.stringify(spec), dir], { encoding: 'utf8' }).trim();
}

/** A PEP 503 simple index over a directory of wheels, on 127.0.0.1; stop it with close(). */
export async function serveSimpleIndex(dir: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      requests.push(url);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.whl'));
      const project = /^\/simple\/([^/]+)\/?$/.exec(url)?.[1];
      if (project) {
        const norm = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
        const mine = files.filter((f) => norm(f.split('-')[0] ?? '') === norm(project));
        if (mine.length === 0) {
          res.writeHead(404).end();
          return;
        }
        const links = mine.map((f) => `<a href="/files/${f}">${f}</a>`).join('\n');
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body>\n${links}\n</body></html>`);
        return;
      }
      const file = /^\/files\/([^/]+\.whl)$/.exec(url)?.[1];
      if (file && files.includes(file)) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await readFile(path.join(dir, file)));
        return;
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
