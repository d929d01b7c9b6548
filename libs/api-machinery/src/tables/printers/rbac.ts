import { KubeObject } from '../../object';
import { since } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer } from '../printer';

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function subjectsOfKind(binding: KubeObject, kind: string): string {
  return ((binding.subjects ?? []) as Subject[])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');
}

function bindingPrinter(scope: string): Printer {
  return {
    columns: columns(
      NAME_COLUMN,
      ['Role', 'string', 'Kind/name of the role granted.'],
      AGE_COLUMN,
      ['Users', 'string', `Users the ${scope} grants the role to.`, 'wide'],
      ['Groups', 'string', `Groups the ${scope} grants the role to.`, 'wide'],
      [
        'ServiceAccounts',
        'string',
        `Service accounts (namespace/name) the ${scope} grants the role to.`,
        'wide',
      ],
    ),
    row: (binding, now) => ({
      cells: [
        binding.metadata.name ?? '',
        `${binding.roleRef?.kind ?? ''}/${binding.roleRef?.name ?? ''}`,
        since(binding.metadata.creationTimestamp, now),
        subjectsOfKind(binding, 'User'),
        subjectsOfKind(binding, 'Group'),
        subjectsOfKind(binding, 'ServiceAccount'),
      ],
    }),
  };
}

export const roleBindingPrinter = bindingPrinter('binding');
export const clusterRoleBindingPrinter = bindingPrinter('cluster binding');
