/** Each parameter once, as a string; a repeated parameter is a 400 rather than an array to trip over. */
export function querySchema(...names: string[]) {
  return {
    querystring: {
      type: 'object',
      properties: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
    },
  };
}
