import { describe, expect, it } from 'vitest';
import { dockerOptionsFor, engineErrorText, engineStatusCode, isConnectionError, isNotFound } from './docker-engine.js';

describe('shared Docker Engine helpers', () => {
  it('connects to a unix socket by its path and ignores a tcp DOCKER_HOST in the environment', () => {
    expect(dockerOptionsFor('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock', host: undefined });
  });

  it('connects to tcp and http addresses over plain HTTP, with the default port when none is given', () => {
    expect(dockerOptionsFor('tcp://127.0.0.1:2376')).toEqual({ host: '127.0.0.1', port: '2376', protocol: 'http' });
    expect(dockerOptionsFor('http://127.0.0.1')).toEqual({ host: '127.0.0.1', port: '2375', protocol: 'http' });
  });

  it('gives an IPv6 address to the socket layer without its URL brackets', () => {
    expect(dockerOptionsFor('tcp://[::1]:2375')).toMatchObject({ host: '::1', port: '2375' });
  });

  it('refuses a scheme it cannot speak, naming the ones it can', () => {
    expect(() => dockerOptionsFor('ssh://user@host')).toThrow(/ssh: is not supported; use unix:\/\/\/path/);
  });

  it('reads the status code docker-modem attaches, and nothing from other errors', () => {
    const notFound = Object.assign(new Error('(HTTP code 404) no such container - No such container: abc'), { statusCode: 404 });
    expect(engineStatusCode(notFound)).toBe(404);
    expect(isNotFound(notFound)).toBe(true);
    expect(engineStatusCode(new Error('plain'))).toBeUndefined();
    expect(isNotFound(undefined)).toBe(false);
  });

  it("prefers the engine's own message and strips docker-modem's prefix otherwise", () => {
    const withJson = Object.assign(new Error('(HTTP code 409) conflict - ignored'), { json: { message: ' container is not running ' } });
    expect(engineErrorText(withJson)).toBe('container is not running');
    expect(engineErrorText(new Error('(HTTP code 404) no such container - No such container: abc'))).toBe('No such container: abc');
    expect(engineErrorText('just text')).toBe('just text');
  });

  it('tells an unreachable engine from a refused request', () => {
    expect(isConnectionError(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }))).toBe(true);
    expect(isConnectionError(new Error('timeout of 2000ms exceeded'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('(HTTP code 500) server error - connect failed inside'), { statusCode: 500 }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('no such image'), { statusCode: 404 }))).toBe(false);
  });
});
