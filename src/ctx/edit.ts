/**
 * Changing one value of a kubeconfig file and nothing else: the rest of
 * the text stays byte for byte (indentation, flow style, comments, order).
 * The value is replaced where it stands, or added to its map in the map's
 * own style. Pure: text in, text out.
 */
import { UsageError } from '../base/errors.js';
import { parseYamlDocument, toYaml, YAML } from '../base/yaml.js';

type YamlMap = import('yaml').YAMLMap<unknown, unknown>;
type Pair = import('yaml').Pair<unknown, unknown>;

/** A scalar as YAML writes it, quoted where a YAML 1.1 reader would take it for something else. */
function scalar(value: string): string {
  return toYaml(value).trimEnd();
}

function keyOf(pair: Pair): unknown {
  return YAML.isScalar(pair.key) ? pair.key.value : pair.key;
}

function pairIn(map: YamlMap, key: string): Pair | undefined {
  return map.items.find((p) => keyOf(p) === key);
}

/** The column of a node's first character. */
function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Sets key: yamlValue (already YAML text) in a map that exists in the text. */
function setInMap(text: string, map: YamlMap, key: string, yamlValue: string): string {
  const pair = pairIn(map, key);
  if (pair) {
    if (YAML.isScalar(pair.value) && pair.value.range) {
      const [start, end] = pair.value.range;
      // An empty value (`key:`) has an empty range right after the colon.
      return (
        text.slice(0, start) +
        (start === end && text[start - 1] === ':' ? ` ${yamlValue}` : yamlValue) +
        text.slice(end)
      );
    }
    if (pair.value === null && YAML.isScalar(pair.key) && pair.key.range) {
      // `key:` with nothing after it.
      const colon = text.indexOf(':', pair.key.range[1]);
      return `${text.slice(0, colon + 1)} ${yamlValue}${text.slice(colon + 1)}`;
    }
    throw new UsageError(`"${key}" is not a plain value in the kubeconfig; not changing it`, {
      hint: 'edit the file by hand',
    });
  }
  const [start, valueEnd] = map.range ?? [0, 0, 0];
  if (map.flow) {
    const close = text.lastIndexOf('}', valueEnd);
    const inner = text.slice(text.indexOf('{', start) + 1, close);
    const pair = `${key}: ${yamlValue}`;
    return `${text.slice(0, close)}${inner.trim() ? `, ${pair}` : pair}${text.slice(close)}`;
  }
  const first = map.items[0];
  const indent = ' '.repeat(
    first && YAML.isScalar(first.key) && first.key.range ? columnOf(text, first.key.range[0]) : 0,
  );
  const at = valueEnd;
  const before = text.slice(0, at);
  const lead = before.endsWith('\n') || before === '' ? '' : '\n';
  return `${before}${lead}${indent}${key}: ${yamlValue}\n${text.slice(at)}`;
}

function parse(text: string, file: string): import('yaml').Document {
  const doc = parseYamlDocument(text);
  if (doc.errors.length > 0) {
    throw new UsageError(`${file} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`, {
      hint: 'fix the file first; kubectl-study does not rewrite a file it cannot parse',
    });
  }
  return doc;
}

/** The text with current-context set. */
export function setCurrentContext(text: string, file: string, name: string): string {
  const doc = parse(text, file);
  if (doc.contents === null || (YAML.isScalar(doc.contents) && doc.contents.value === null)) {
    return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}current-context: ${scalar(name)}\n`;
  }
  if (!YAML.isMap(doc.contents))
    throw new UsageError(`${file} is not a kubeconfig: expected a mapping at the top level`);
  return setInMap(text, doc.contents, 'current-context', scalar(name));
}

/** The text with one context's default namespace set. */
export function setContextNamespace(text: string, file: string, context: string, namespace: string): string {
  const doc = parse(text, file);
  const contexts = YAML.isMap(doc.contents) ? doc.contents.get('contexts', true) : undefined;
  if (!YAML.isSeq(contexts)) throw new UsageError(`${file} has no contexts list`);
  const item = contexts.items.find((it) => YAML.isMap(it) && it.get('name') === context);
  if (!YAML.isMap(item)) throw new UsageError(`context "${context}" not found in ${file}`);
  const body = item.get('context', true);
  if (YAML.isMap(body)) return setInMap(text, body, 'namespace', scalar(namespace));
  const pair = pairIn(item, 'context');
  if (
    pair &&
    (pair.value === null || (YAML.isScalar(pair.value) && pair.value.value === null)) &&
    YAML.isScalar(pair.key) &&
    pair.key.range
  ) {
    const colon = text.indexOf(':', pair.key.range[1]);
    const end = YAML.isScalar(pair.value) && pair.value.range ? pair.value.range[1] : colon + 1;
    return `${text.slice(0, colon + 1)} {namespace: ${scalar(namespace)}}${text.slice(end)}`;
  }
  if (!pair) return setInMap(text, item, 'context', `{namespace: ${scalar(namespace)}}`);
  throw new UsageError(`context "${context}" in ${file} is not a mapping; not changing it`, {
    hint: 'edit the file by hand',
  });
}
