import { KubeObject } from '../object';

export type Cell = string | number | boolean | null;

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: '' | 'name';
  description: string;
  /** 0 for the default view, 1 for columns kubectl shows only with `-o wide`. */
  priority: 0 | 1;
}

export interface RowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface PrinterRow {
  cells: Cell[];
  conditions?: RowCondition[];
}

/** Columns of one kind and how to fill them; rows always carry the wide cells too. */
export interface Printer {
  columns: ColumnDefinition[];
  row(object: KubeObject, now: Date): PrinterRow;
}

type ColumnSpec = [name: string, type: ColumnDefinition['type'], description: string, wide?: 'wide'];

/** Builds column definitions from terse tuples; a column called Name carries the `name` format. */
export function columns(...specs: ColumnSpec[]): ColumnDefinition[] {
  return specs.map(([name, type, description, wide]) => ({
    name,
    type,
    format: name === 'Name' ? 'name' : '',
    description,
    priority: wide ? 1 : 0,
  }));
}

export const NAME_COLUMN: ColumnSpec = ['Name', 'string', 'Name of the object, unique within its namespace.'];
export const AGE_COLUMN: ColumnSpec = ['Age', 'string', 'Time since the object was created.'];
export const CONTAINERS_COLUMN: ColumnSpec = [
  'Containers',
  'string',
  'Container names of the pod template.',
  'wide',
];
export const IMAGES_COLUMN: ColumnSpec = [
  'Images',
  'string',
  'Container images of the pod template.',
  'wide',
];
export const SELECTOR_COLUMN: ColumnSpec = [
  'Selector',
  'string',
  'Label query over the pods it manages.',
  'wide',
];
