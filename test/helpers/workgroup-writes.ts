// Finds writes to part of a value held in `var<workgroup>` memory: a vector component, a matrix column or
// element, or a component of a struct member. WGSL lets such a write touch the whole value, so two invocations
// writing different parts of one value in the same phase race (gpuweb issue 2112: wrong results on Metal and D3D).
// Kernels must store whole values; this is the check that keeps them doing so.

export interface PartialWrite {
  file: string;
  line: number;
  variable: string;
  text: string;
}

const SCALARS = new Set(['f32', 'f16', 'i32', 'u32', 'bool']);
const ASSIGN = /^(=(?!=)|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|<<=|>>=|\+\+|--)/;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length));
}

/** The text of a balanced `<...>` starting at `open` (which holds '<'), without the brackets, and the index after it. */
function angleGroup(s: string, open: number): [string, number] {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '<') depth++;
    else if (s[i] === '>' && --depth === 0) return [s.slice(open + 1, i), i + 1];
  }
  throw new Error(`unbalanced '<' in type ${s}`);
}

/** A bracketed group `[...]` or `(...)` starting at `open`: the index after its closing bracket. */
function skipGroup(s: string, open: number): number {
  const close = s[open] === '[' ? ']' : ')';
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === s[open]) depth++;
    else if (s[i] === close && --depth === 0) return i + 1;
  }
  return s.length;
}

/** Splits `array<T, N>` into its element type; other types come back as they are. */
function arrayElement(type: string): string | null {
  const t = type.trim();
  if (!t.startsWith('array')) return null;
  const [inner] = angleGroup(t, t.indexOf('<'));
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '<') depth++;
    else if (inner[i] === '>') depth--;
    else if (inner[i] === ',' && depth === 0) return inner.slice(0, i).trim();
  }
  return inner.trim();
}

interface TypeTable {
  aliases: Map<string, string[]>;
  structs: Map<string, Map<string, string>>;
}

function typeTable(sources: string[]): TypeTable {
  const aliases = new Map<string, string[]>();
  const structs = new Map<string, Map<string, string>>();
  for (const src of sources) {
    for (const m of src.matchAll(/\balias\s+(\w+)\s*=\s*([^;]+);/g)) {
      aliases.set(m[1], [...(aliases.get(m[1]) ?? []), m[2].trim()]);
    }
    for (const m of src.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g)) {
      const members = new Map<string, string>();
      for (const f of m[2].split(/,(?![^<]*>)/)) {
        const fm = /(?:@\w+(?:\([^)]*\))?\s*)*(\w+)\s*:\s*(.+)/.exec(f.trim());
        if (fm) members.set(fm[1], fm[2].trim());
      }
      structs.set(m[1], members);
    }
  }
  return { aliases, structs };
}

/**
 * Whether a value of this type has parts that one write could touch separately: vectors, matrices, atomics are
 * excluded (atomic operations are whole-value), arrays and structs whose elements or members do. An alias
 * counts if any of its definitions (one per shader section) does.
 */
function hasParts(type: string, table: TypeTable, seen = new Set<string>()): boolean {
  const t = type.trim();
  if (SCALARS.has(t) || t.startsWith('atomic')) return false;
  if (/^(vec[234][fhiu]?|mat[234]x[234][fh]?)\b/.test(t)) return true;
  const element = arrayElement(t);
  if (element !== null) return hasParts(element, table, seen);
  if (seen.has(t)) return false;
  seen.add(t);
  if (table.aliases.has(t)) return table.aliases.get(t)!.some((a) => hasParts(a, table, seen));
  if (table.structs.has(t)) return [...table.structs.get(t)!.values()].some((m) => hasParts(m, table, seen));
  return false;
}

/**
 * Whether a write through these accessors (`[]` an index, `.name` a member or swizzle) into a value of `type`
 * lands inside a vector or matrix, i.e. writes part of a value rather than a whole array element or struct member.
 */
function isPartialAccess(type: string, accessors: string[], table: TypeTable): boolean {
  let t = type.trim();
  for (const a of accessors) {
    while (table.aliases.has(t)) t = table.aliases.get(t)![0];
    const element = arrayElement(t);
    if (element !== null && a === '[]') { t = element; continue; }
    if (a.startsWith('.') && table.structs.has(t)) {
      const member = table.structs.get(t)!.get(a.slice(1));
      if (member === undefined) return true;
      t = member;
      continue;
    }
    // An index or swizzle into a vector or matrix, or anything else below a value: a part of it.
    return true;
  }
  return false;
}

/** Every write to part of a workgroup value in the given shader sources (file name -> WGSL). */
export function findPartialWorkgroupWrites(files: Record<string, string>): PartialWrite[] {
  const stripped = Object.fromEntries(Object.entries(files).map(([f, s]) => [f, stripComments(s)]));
  const table = typeTable(Object.values(stripped));
  const found: PartialWrite[] = [];
  for (const [file, src] of Object.entries(stripped)) {
    const lineOf = (i: number) => src.slice(0, i).split('\n').length;
    const vars = new Map<string, string>();
    for (const m of src.matchAll(/var\s*<\s*workgroup\s*>\s*(\w+)\s*:\s*([^;]+);/g)) {
      if (hasParts(m[2], table)) vars.set(m[1], m[2]);
    }
    for (const [name, type] of vars) {
      // A pointer to workgroup memory hides its writes from this check: refuse it.
      for (const m of src.matchAll(new RegExp(`(?<=[=(,]\\s*)&\\s*\\(?\\s*${name}\\b`, 'g'))) {
        found.push({ file, line: lineOf(m.index!), variable: name, text: 'takes a pointer into workgroup memory' });
      }
      for (const m of src.matchAll(new RegExp(`(?<![\\w.])${name}\\b`, 'g'))) {
        let i = m.index! + name.length;
        const accessors: string[] = [];
        for (;;) {
          while (/\s/.test(src[i] ?? '')) i++;
          if (src[i] === '[') { accessors.push('[]'); i = skipGroup(src, i); continue; }
          const member = /^\.\s*(\w+)/.exec(src.slice(i));
          if (member) { accessors.push(`.${member[1]}`); i += member[0].length; continue; }
          break;
        }
        while (/\s/.test(src[i] ?? '')) i++;
        if (!ASSIGN.test(src.slice(i, i + 3))) continue;
        if (isPartialAccess(type, accessors, table)) {
          const start = src.lastIndexOf('\n', m.index!) + 1;
          const end = src.indexOf('\n', m.index!);
          found.push({ file, line: lineOf(m.index!), variable: name, text: src.slice(start, end < 0 ? undefined : end).trim() });
        }
      }
    }
  }
  return found;
}
