/** PersistentVolumes and claims. */
import { Causes, FieldError, FieldPath, isEqual, oneOf } from '../field-errors';
import { parseQuantity } from '../quantity';

type Json = Record<string, any>;
const spec = FieldPath.root('spec');

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const VOLUME_MODES = ['Block', 'Filesystem'];

function validateAccessModes(modes: string[] | undefined, path: FieldPath): Causes {
  if (!modes || modes.length === 0) return [FieldError.required(path, 'at least 1 access mode is required')];
  const causes = modes.flatMap((mode) => oneOf(mode, path, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) {
    causes.push(FieldError.forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  }
  return causes;
}

function validateStorageSize(value: unknown, path: FieldPath): Causes {
  if (value === undefined) return [FieldError.required(path)];
  const size = parseQuantity(value);
  return size !== undefined && size > 0
    ? []
    : [FieldError.invalid(path, String(value), 'must be greater than zero')];
}

/** Claim specs, also used for a StatefulSet's volumeClaimTemplates. */
export function validateClaimSpec(claimSpec: Json | undefined, path: FieldPath): Causes {
  const s = claimSpec ?? {};
  return [
    ...validateAccessModes(s.accessModes, path.child('accessModes')),
    ...validateStorageSize(s.resources?.requests?.storage, path.child('resources').key('storage')),
    ...oneOf(s.volumeMode, path.child('volumeMode'), VOLUME_MODES),
  ];
}

export function validatePersistentVolumeClaim(claim: Json): Causes {
  return validateClaimSpec(claim.spec, spec);
}

/** A claim's spec is fixed once created, except that a bound claim's storage request may grow. */
export function validatePersistentVolumeClaimUpdate(claim: Json, old: Json): Causes {
  const withoutRequests = (s: Json | undefined) => {
    const copy = structuredClone(s ?? {});
    if (copy.resources) delete copy.resources.requests;
    // A claim bound later gets its volumeName from the binder.
    if (!old.spec?.volumeName) delete copy.volumeName;
    return copy;
  };
  const causes: Causes = [];
  if (!isEqual(withoutRequests(claim.spec), withoutRequests(old.spec))) {
    causes.push(
      FieldError.forbidden(
        spec,
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  const newSize = parseQuantity(claim.spec?.resources?.requests?.storage);
  const oldSize = parseQuantity(old.spec?.resources?.requests?.storage);
  if (newSize !== undefined && oldSize !== undefined && newSize < oldSize) {
    causes.push(
      FieldError.forbidden(
        spec.child('resources', 'requests', 'storage'),
        'field can not be less than previous value',
      ),
    );
  }
  return causes;
}

const PERSISTENT_VOLUME_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'hostPath',
  'glusterfs',
  'nfs',
  'rbd',
  'iscsi',
  'cinder',
  'cephfs',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

export function validatePersistentVolume(volume: Json): Causes {
  const s = volume.spec ?? {};
  const causes = validateAccessModes(s.accessModes, spec.child('accessModes'));
  if (!s.capacity) causes.push(FieldError.required(spec.child('capacity')));
  else causes.push(...validateStorageSize(s.capacity.storage, spec.child('capacity').key('storage')));
  const sources = PERSISTENT_VOLUME_SOURCES.filter((source) => s[source] !== undefined);
  if (sources.length === 0) causes.push(FieldError.required(spec, 'must specify a volume type'));
  else if (sources.length > 1)
    causes.push(FieldError.forbidden(spec.child(sources[1]), 'may not specify more than 1 volume type'));
  causes.push(
    ...oneOf(s.persistentVolumeReclaimPolicy, spec.child('persistentVolumeReclaimPolicy'), [
      'Delete',
      'Recycle',
      'Retain',
    ]),
  );
  causes.push(...oneOf(s.volumeMode, spec.child('volumeMode'), VOLUME_MODES));
  return causes;
}
