import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, fromEnv, fromFile, fromFlags } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { tempDir } from '../helpers/cli.js';

const TOKEN = 'sixteen-chars-ok-token';

describe('config schema', () => {
  it('has the documented defaults', () => {
    expect(buildConfig({})).toMatchObject({
      transport: 'stdio',
      addr: '127.0.0.1:8080',
      endpoint: '/mcp',
      stateless: false,
      toolsets: ['core'],
      logLevel: 'info',
      maxOutputChars: 20_000,
      defaultTimeout: 60,
      maxTimeout: 600,
      cgroups: true,
    });
  });

  it('refuses a non-loopback HTTP bind without a token, with a message that says what to do', () => {
    expect(() => buildConfig({ transport: 'http', addr: '0.0.0.0:8080' })).toThrow(ConfigError);
    expect(() => buildConfig({ transport: 'http', addr: '0.0.0.0:8080' })).toThrow(/--auth-token.*(HANGAR_AUTH_TOKEN|127\.0\.0\.1)/);
    expect(() => buildConfig({ transport: 'http', addr: '192.168.1.5:80' })).toThrow(/--auth-token/);
    expect(() => buildConfig({ transport: 'http', addr: '[::]:80' })).toThrow(/--auth-token/);
    expect(buildConfig({ transport: 'http', addr: '0.0.0.0:8080', authToken: TOKEN }).authToken).toBe(TOKEN);
    for (const addr of ['127.0.0.1:1', '127.1.2.3:80', 'localhost:80', '[::1]:80']) expect(buildConfig({ transport: 'http', addr }).addr).toBe(addr);
    // On stdio no address is bound.
    expect(buildConfig({ addr: '0.0.0.0:8080' }).transport).toBe('stdio');
  });

  it('refuses short tokens, half a TLS pair, bad addresses and endpoints, a default timeout above the maximum', () => {
    expect(() => buildConfig({ authToken: 'short' })).toThrow(/--auth-token: must be at least 16/);
    expect(() => buildConfig({ tlsCert: '/x.pem' })).toThrow(/both --tls-cert and --tls-key/);
    expect(() => buildConfig({ tlsKey: '/x.pem' })).toThrow(/both --tls-cert and --tls-key/);
    for (const addr of ['8080', '127.0.0.1', '127.0.0.1:99999', 'a b:80', ':80']) expect(() => buildConfig({ addr }), addr).toThrow(/--addr/);
    expect(() => buildConfig({ endpoint: 'mcp' })).toThrow(/--endpoint/);
    expect(() => buildConfig({ defaultTimeout: 700 })).toThrow(/--default-timeout.*above the maximum/);
    expect(buildConfig({ defaultTimeout: 700, maxTimeout: 800 }).defaultTimeout).toBe(700);
    expect(() => buildConfig({ maxOutputChars: 10 })).toThrow(/--max-output-chars/);
    expect(ConfigSchema.safeParse({ transport: 'ftp' }).success).toBe(false);
    for (const dataDir of ['/proc/self/hangar', '/sys', '/dev/shm/../hangar-x', '/proc/../proc/1']) {
      expect(() => buildConfig({ dataDir }), dataDir).toThrow(/--data-dir: must not be under \/proc, \/sys or \/dev/);
    }
    expect(buildConfig({ dataDir: '/processes/hangar' }).dataDir).toBe('/processes/hangar');
  });
});

describe('config sources', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('hangar-config-');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('coerces HANGAR_* variables by kind and refuses bad values', () => {
    expect(fromEnv({ HANGAR_STATELESS: 'yes', HANGAR_MAX_OUTPUT_CHARS: '500', HANGAR_TOOLSETS: 'core, jupyter,', HANGAR_HOME: '/d', HANGAR_CGROUPS: 'off' })).toEqual({
      stateless: true,
      maxOutputChars: 500,
      toolsets: ['core', 'jupyter'],
      dataDir: '/d',
      cgroups: false,
    });
    expect(fromEnv({ HANGAR_MAX_OUTPUT_CHARS: '' })).toEqual({});
    expect(() => fromEnv({ HANGAR_MAX_OUTPUT_CHARS: 'lots' })).toThrow(/HANGAR_MAX_OUTPUT_CHARS: expected a number/);
    expect(() => fromEnv({ HANGAR_STATELESS: 'maybe' })).toThrow(/HANGAR_STATELESS: expected true or false/);
  });

  it('reads flags, including negations', () => {
    expect(fromFlags({ 'max-output-chars': '900', stateless: true, 'no-cgroups': true, 'data-dir': '/x' })).toEqual({ maxOutputChars: 900, stateless: true, cgroups: false, dataDir: '/x' });
    expect(() => fromFlags({ 'default-timeout': 'soon' })).toThrow(/--default-timeout/);
  });

  it('reads the file with camelCase or kebab-case keys, ignoring mcpServers, refusing unknown keys', async () => {
    const file = path.join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ maxOutputChars: 300, 'default-timeout': 5, toolsets: 'core,all', mcpServers: { x: { command: 'y' } } }));
    expect(await fromFile(file)).toEqual({ maxOutputChars: 300, defaultTimeout: 5, toolsets: ['core', 'all'] });
    await writeFile(file, JSON.stringify({ maxOutputChar: 1 }));
    await expect(fromFile(file)).rejects.toThrow(/unknown key "maxOutputChar"/);
    await writeFile(file, '[1, 2]');
    await expect(fromFile(file)).rejects.toThrow(/must be a JSON object/);
    await writeFile(file, '{ not json');
    await expect(fromFile(file)).rejects.toThrow(/not valid JSON/);
    await expect(fromFile(path.join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
  });

  it('merges file < environment < flags', async () => {
    const file = path.join(dir, 'p.json');
    await writeFile(file, JSON.stringify({ maxOutputChars: 300, defaultTimeout: 5, logLevel: 'debug' }));
    const config = buildConfig(await fromFile(file), fromEnv({ HANGAR_MAX_OUTPUT_CHARS: '400', HANGAR_DEFAULT_TIMEOUT: '7' }), fromFlags({ 'max-output-chars': '500' }));
    expect(config).toMatchObject({ maxOutputChars: 500, defaultTimeout: 7, logLevel: 'debug' });
  });
});
