// Shader files that hold alternative sections (a matmul's B formats, attention's tile staging): each section is the
// lines after a "//! <name>" line, up to the next one; the host prepends the section a kernel needs.

/** The sections of a sectioned shader file by name. */
export function shaderSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | null = null;
  for (const line of text.split('\n')) {
    const header = /^\/\/! (\S+)/.exec(line);
    if (header) {
      name = header[1];
      sections.set(name, '');
    } else if (name) {
      sections.set(name, `${sections.get(name)}${line}\n`);
    }
  }
  return sections;
}

/** Section `name` of `sections` (read from shaders/`file`), or an error naming both. */
export function section(sections: Map<string, string>, file: string, name: string): string {
  const text = sections.get(name);
  if (text === undefined) throw new Error(`shaders/${file} has no section "${name}"`);
  return text;
}
