/** YAML in and out, in one place (js-yaml, already a dependency of client-node). */
import yaml from 'js-yaml';

/** Parses with YAML's core schema: no dates or binary, as Go's kubeconfig parser sees them. */
export function parseYaml(text: string): unknown {
  return yaml.load(text, { schema: yaml.CORE_SCHEMA });
}

export function parseYamlDocuments(text: string): unknown[] {
  return yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA }).filter((d) => d !== null && d !== undefined);
}

export function toYaml(value: unknown): string {
  return yaml.dump(value, { noRefs: true, lineWidth: -1, sortKeys: false });
}
