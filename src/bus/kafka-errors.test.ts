import {
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
} from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { brokerRefused } from './kafka.js';

/** MESSAGE_TOO_LARGE, as the brokers number it. */
const MESSAGE_TOO_LARGE = 10;

describe('brokerRefused', () => {
  it.each([
    ['a protocol error', new ProtocolError('MESSAGE_TOO_LARGE'), true],
    [
      'a produce response with an error for a partition',
      new ResponseError(0, 9, { '/topics/0/partitions/1': [MESSAGE_TOO_LARGE, null] }, {}),
      true,
    ],
    ['a network error', new NetworkError('Connection closed'), false],
    ['a timeout of the client', new TimeoutError('Request timed out'), false],
    [
      'retries that ended in no answer after a refusal',
      new MultipleErrors('Produce failed', [
        new ProtocolError('NOT_ENOUGH_REPLICAS'),
        new NetworkError('gone'),
      ]),
      false,
    ],
    ['our own timeout', new Error('no acknowledgement within 5000 ms'), false],
    ['something else', 'down', false],
  ])('%s', (_name, error, refused) => {
    expect(brokerRefused(error)).toBe(refused);
  });
});
