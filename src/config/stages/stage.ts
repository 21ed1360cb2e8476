import { z } from 'zod';

/** An org id as it appears in config: per-org overrides of a stage's options are keyed by it. */
const orgKey = z.string().min(1);

/**
 * Per-org overrides: every option optional and without its default, so an override sets only
 * what it names (a nested object it names replaces that object whole).
 */
function overridesOf<Shape extends z.ZodRawShape>(options: Shape) {
  const shape: Record<string, z.ZodType> = { enabled: z.boolean().optional() };
  for (const [key, schema] of Object.entries(options)) {
    const bare = schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault ? schema.unwrap() : schema;
    shape[key] = (bare as z.ZodType).optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<
    Partial<z.output<z.ZodObject<Shape>>> & { enabled?: boolean }
  >;
}

/**
 * One pipeline stage in `processor.stages`: its type, whether it runs, its options, and per-org
 * overrides of any of them (`orgs: { org_123: { enabled: false } }`).
 */
export function stageSchema<Type extends string, Shape extends z.ZodRawShape>(type: Type, options: Shape) {
  return z.strictObject({
    type: z.literal(type),
    enabled: z.boolean().default(true),
    ...options,
    orgs: z.record(orgKey, overridesOf(options)).default({}),
  });
}
