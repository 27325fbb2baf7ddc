import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lazySchema } from '../lazy-zod.js';
import { parseYaml } from '../yaml-text.js';
import type { Side } from './naming.js';
import { variantsSchema, type VariantPreference } from './variants.js';

/**
 * Naming rules: for flat folders where the file name, not the folder, says which object a master
 * belongs to. Each rule is a regular expression with named groups:
 *   object    the object's id (or build it from other groups with an `object` template)
 *   sequence  the page number (digits)
 *   side      r / v / recto / verso (optional)
 * The first rule that matches a file wins; a file no rule matches is ignored and listed as such.
 */
export interface NameRule {
  readonly regex: RegExp;
  /** `{group}` placeholders; absent: the `object` group itself. */
  readonly objectTemplate?: string | undefined;
  /** What the regex is matched against: the file name, or its path under the masters folder. */
  readonly on: 'name' | 'path';
}

export interface RuleMatch {
  readonly object: string;
  readonly sequence?: number | undefined;
  readonly side?: Side | undefined;
}

export class RulesError extends Error {
  override name = 'RulesError';
}

const fileSchema = lazySchema((z) => {
  const ruleSchema = z
    .object({
      pattern: z.string().min(1),
      /** Regular expression flags; `i` (ignore case) by default, as legacy names mix cases. */
      flags: z.string().regex(/^[imsu]*$/, 'flags: only i, m, s and u are allowed').default('i'),
      object: z.string().min(1).optional(),
      on: z.enum(['name', 'path']).default('name'),
    })
    .strict();
  return z
    .object({
      rules: z.array(ruleSchema).min(1, 'rules: give at least one rule').optional(),
      variants: variantsSchema().optional(),
    })
    .strict()
    .refine((f) => f.rules !== undefined || f.variants !== undefined, { message: 'give rules (naming rules), variants (a preference among versions of a page), or both', path: ['rules'] });
});
/** A naming rule as the file gives it, checked. */
type RuleInput = NonNullable<ReturnType<ReturnType<typeof fileSchema>['parse']>['rules']>[number];

/** What a rules file says: naming rules (absent: one folder = one object) and a variant preference (absent: the default). */
export interface RulesFile {
  readonly rules?: NameRule[] | undefined;
  readonly variants?: VariantPreference | undefined;
}

const placeholders = (template: string): string[] => [...template.matchAll(/\{([A-Za-z_$][\w$]*)\}/g)].map((m) => m[1]!);

/** Validates rules (as read from a file) into NameRules; every problem names the rule and the field. */
export function parseRules(input: unknown, source = 'rules'): NameRule[] {
  const rules = parseRulesFile(input, source).rules;
  if (!rules) throw new RulesError(`${source}: rules: give at least one rule`);
  return rules;
}

/** Validates a whole rules file: its naming rules and its variant preference; every problem names the key. */
export function parseRulesFile(input: unknown, source = 'rules'): RulesFile {
  const parsed = fileSchema().safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RulesError(`${source}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return { rules: parsed.data.rules && compileRules(parsed.data.rules, source), variants: parsed.data.variants };
}

function compileRules(rules: RuleInput[], source: string): NameRule[] {
  return rules.map((rule, i) => {
    const where = `${source}: rules.${i}`;
    let regex: RegExp;
    try {
      regex = new RegExp(rule.pattern, rule.flags);
    } catch (error) {
      throw new RulesError(`${where}.pattern: ${(error as Error).message}`);
    }
    const groups = new Set(placeholders(rule.pattern.replace(/\(\?<([A-Za-z_$][\w$]*)>/g, '{$1}')));
    if (rule.object === undefined && !groups.has('object')) {
      throw new RulesError(`${where}: the pattern has no (?<object>…) group; add one or an 'object' template such as '{collection}-{box}'`);
    }
    for (const name of rule.object ? placeholders(rule.object) : []) {
      if (!groups.has(name)) throw new RulesError(`${where}.object: '{${name}}' is not a named group of the pattern`);
    }
    return { regex, objectTemplate: rule.object, on: rule.on };
  });
}

/** Reads a rules file (YAML, or JSON by its .json extension). */
export async function loadRulesFile(file: string): Promise<RulesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RulesError(`rules file ${file}: ${code === 'ENOENT' ? 'not found' : (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : await parseYaml(text);
  } catch (error) {
    throw new RulesError(`rules file ${file}: not valid ${path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseRulesFile(data, `rules file ${file}`);
}

/** The object, sequence and side the first matching rule gives a file (its path under the masters folder). */
export function applyRules(rules: readonly NameRule[], relativePath: string): RuleMatch | undefined {
  for (const rule of rules) {
    const subject = rule.on === 'path' ? relativePath : path.posix.basename(relativePath);
    const groups = rule.regex.exec(subject)?.groups;
    if (!groups) continue;
    const object = rule.objectTemplate ? rule.objectTemplate.replace(/\{([A-Za-z_$][\w$]*)\}/g, (_, g: string) => groups[g] ?? '') : groups.object;
    if (!object) continue;
    const sequence = groups.sequence !== undefined && /^\d+$/.test(groups.sequence) ? Number(groups.sequence) : undefined;
    const sideText = groups.side?.toLowerCase();
    const side: Side | undefined = sideText === 'r' || sideText === 'recto' ? 'r' : sideText === 'v' || sideText === 'verso' ? 'v' : undefined;
    return { object, sequence, side };
  }
  return undefined;
}
