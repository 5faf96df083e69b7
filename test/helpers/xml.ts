// A small XML reader for tests of generated SVG: asserts the document is well formed and returns its element tree.
import assert from 'node:assert/strict';

/** An element: its name, attributes (entities decoded), child elements and own text (entities decoded). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /&(?!(amp|lt|gt|quot|apos);)/;
const decode = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);

/**
 * Parses `xml` (an optional XML declaration, then one root element) and returns the root. Fails the
 * test on anything a browser would reject or that hints at missing escaping: unbalanced tags,
 * unquoted attributes, a bare `&` or a raw `>` in text, a `<` in an attribute.
 */
export function parseXml(xml: string): XmlElement {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt === -1 ? body.length : lt);
    assert.ok(!/>/.test(text), `raw > in text: ${JSON.stringify(text)}`);
    assert.ok(!ENTITY.test(text), `bare & in text: ${JSON.stringify(text)}`);
    stack[stack.length - 1].text += decode(text);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    assert.ok(m, `malformed tag at ${lt}: ${JSON.stringify(body.slice(lt, lt + 60))}`);
    assert.ok(!ENTITY.test(m[3]), `bare & in attributes: ${m[3]}`);
    if (m[1]) {
      assert.equal(stack.pop()?.name, m[2], `closing </${m[2]}> does not match`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = decode(a[2]);
      const el: XmlElement = { name: m[2], attrs, children: [], text: '' };
      stack[stack.length - 1].children.push(el);
      if (!m[4]) stack.push(el);
    }
    i = tag.lastIndex;
  }
  assert.equal(stack.length, 1, `unclosed tags: ${stack.slice(1).map((e) => e.name).join(', ')}`);
  assert.equal(root.children.length, 1, 'one root element');
  assert.equal(root.text.trim(), '', 'no text outside the root element');
  return root.children[0];
}

/** Every element named `name` below `el` (depth first, in document order). */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...findAll(c, name)]);
}
