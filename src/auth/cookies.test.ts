import { describe, expect, it } from 'vitest';
import {
  clearedSessionCookie,
  hasCsrfHeader,
  needsCsrfHeader,
  parseCookies,
  sessionCookie,
  sessionTokenOf,
} from './cookies.js';

describe('cookies', () => {
  it('parses a Cookie header, keeping the first of a repeated name and unquoting values', () => {
    const cookies = parseCookies('a=1; sl_session=tok-en_1; theme="dark"; sl_session=second; =x; junk');
    expect([...cookies]).toEqual([
      ['a', '1'],
      ['sl_session', 'tok-en_1'],
      ['theme', 'dark'],
    ]);
    expect(parseCookies(undefined).size).toBe(0);
    expect(parseCookies('').size).toBe(0);
  });

  it('finds the session token, and none when the cookie is missing or empty', () => {
    expect(sessionTokenOf({ cookie: 'x=1;sl_session=abc' })).toBe('abc');
    expect(sessionTokenOf({ cookie: 'sl_session=' })).toBeUndefined();
    expect(sessionTokenOf({ cookie: 'other=1' })).toBeUndefined();
    expect(sessionTokenOf({})).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Lax cookie for the whole site, Secure only over https', () => {
    expect(sessionCookie('tok', 43_200, false)).toBe(
      'sl_session=tok; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax',
    );
    expect(sessionCookie('tok', 60.7, true)).toBe(
      'sl_session=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure',
    );
    expect(clearedSessionCookie(false)).toBe('sl_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
  });
});

describe('the CSRF rule', () => {
  it('asks for the header on every method but reads', () => {
    expect(['GET', 'HEAD', 'OPTIONS', 'get'].map(needsCsrfHeader)).toEqual([false, false, false, false]);
    expect(['POST', 'PATCH', 'PUT', 'DELETE'].map(needsCsrfHeader)).toEqual([true, true, true, true]);
  });

  it('accepts only "x-sightline-csrf: 1"', () => {
    expect(hasCsrfHeader({ 'x-sightline-csrf': '1' })).toBe(true);
    expect(hasCsrfHeader({ 'x-sightline-csrf': [' 1 ', '0'] })).toBe(true);
    expect(hasCsrfHeader({ 'x-sightline-csrf': '0' })).toBe(false);
    expect(hasCsrfHeader({ 'x-sightline-csrf': '' })).toBe(false);
    expect(hasCsrfHeader({})).toBe(false);
  });
});
