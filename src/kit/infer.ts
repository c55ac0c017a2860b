// A JSON Schema from sample records (discover for streams without a declared schema).

import { LosslessNumber } from '../json/lossless.js';

type Node = { types: Set<string>; props?: Map<string, Node>; items?: Node };

function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (v instanceof LosslessNumber) return /^-?\d+$/.test(v.raw) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return 'string';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function add(node: Node, v: unknown): void {
  const t = typeOf(v);
  node.types.add(t);
  if (t === 'object') {
    node.props ??= new Map();
    for (const k of Object.keys(v as object)) {
      let child = node.props.get(k);
      if (!child) node.props.set(k, (child = { types: new Set() }));
      add(child, (v as Record<string, unknown>)[k]);
    }
  } else if (t === 'array') {
    node.items ??= { types: new Set() };
    for (const x of v as unknown[]) add(node.items, x);
  }
}

function toSchema(node: Node): Record<string, unknown> {
  const types = [...node.types];
  if (types.includes('integer') && types.includes('number')) types.splice(types.indexOf('integer'), 1);
  const order = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];
  types.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const s: Record<string, unknown> = { type: types.length === 1 ? types[0] : types };
  if (node.props) {
    const props: Record<string, unknown> = {};
    for (const [k, child] of node.props) Object.defineProperty(props, k, { value: toSchema(child), enumerable: true, writable: true, configurable: true });
    s['properties'] = props;
  }
  if (node.items) s['items'] = node.items.types.size ? toSchema(node.items) : {};
  return s;
}

export function inferSchema(records: readonly unknown[]): Record<string, unknown> {
  const root: Node = { types: new Set(['object']), props: new Map() };
  for (const r of records) add(root, r);
  const s = toSchema(root);
  s['type'] = 'object';
  return { ...s, description: `inferred by connector_host from the first ${records.length} records`, 'x-connector-host-inferred': true };
}
