import { describe, expect, it } from 'vitest';
import { detectLogFormat, splitHostPort } from './log-parser.js';

describe('detectLogFormat', () => {
  it('goes by the extension PostgreSQL gives each format', () => {
    expect(detectLogFormat('postgresql-2026-11-23_191438.csv')).toBe('csvlog');
    expect(detectLogFormat('postgresql-2026-11-23_191438.json')).toBe('jsonlog');
    expect(detectLogFormat('postgresql-2026-11-23_191438.log')).toBe('stderr');
  });

  it('looks at the first bytes of a file without a telling extension', () => {
    expect(detectLogFormat('postgresql', Buffer.from('{"timestamp":"2026-11-23 19:14:38.402 UTC"}'))).toBe(
      'jsonlog',
    );
    expect(detectLogFormat('postgresql', Buffer.from('2026-11-23 19:14:38.402 UTC,"app",'))).toBe('csvlog');
    expect(detectLogFormat('postgresql', Buffer.from('2026-11-23 19:14:38.402 UTC [1] LOG:  x'))).toBe(
      'stderr',
    );
  });
});

describe('splitHostPort', () => {
  it('splits host:port and host(port), and leaves [local] alone', () => {
    expect(splitHostPort('127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: '5000' });
    expect(splitHostPort('::1:5000')).toEqual({ host: '::1', port: '5000' });
    expect(splitHostPort('db.example(5000)')).toEqual({ host: 'db.example', port: '5000' });
    expect(splitHostPort('[local]')).toEqual({ host: '[local]', port: '' });
  });
});
