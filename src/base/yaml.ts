/**
 * YAML in and out, in one place and with one library (yaml).
 *
 * Reading follows kubectl's parser (Go's YAML 1.1 scalars): yes/no/on/off
 * are booleans, 0777 is octal; no timestamps, binary or base-60 numbers.
 * Writing quotes every string a YAML 1.1 reader would take for something
 * else, so kubectl reads back exactly what was written.
 */
import YAML from 'yaml';

/** The YAML 1.1 core scalars, without what Go's parser leaves as strings. */
function goYamlTags(tags: YAML.Tags): YAML.Tags {
  return tags.filter(
    (t) =>
      typeof t === 'string' ||
      (!/timestamp|binary|omap|pairs|set$/.test(t.tag) && (t as { format?: string }).format !== 'TIME'),
  );
}

const READ: YAML.ParseOptions & YAML.DocumentOptions & YAML.SchemaOptions = {
  version: '1.1',
  customTags: goYamlTags,
  uniqueKeys: false,
};

export function parseYaml(text: string): unknown {
  return YAML.parse(text, READ);
}

/** A document to edit in place, keeping comments, order and style. */
export function parseYamlDocument(text: string): YAML.Document {
  return YAML.parseDocument(text, READ);
}

export function toYaml(value: unknown): string {
  return YAML.stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

export { YAML };
