/**
 * The volumes attached to a node, as a maintenance run waits for them to
 * detach after the drain and before the command (rebooting or reimaging a
 * node with a volume attached can corrupt it). A volume counts as attached
 * while a VolumeAttachment (storage.k8s.io/v1) names the node, or the
 * node's status.volumesAttached lists it, as Cluster API waits after its
 * drain. Each is named by its PersistentVolume where one is known, with
 * the claim bound to it and the pods on the node that used it. Pure.
 */
import type { V1PersistentVolume, V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';

import { firstAndMore, plural } from '../base/text.js';

export interface AttachedVolume {
  /** Its PersistentVolume's name, else the name the attachment gives (kubernetes.io/csi/DRIVER^HANDLE...). */
  name: string;
  /** The PersistentVolumeClaim bound to it (namespace/name), when there is one. */
  claim?: string;
  /** The pods on the node that used it (namespace/name). */
  pods: string[];
}

export interface VolumeFacts {
  /** The node's status.volumesAttached. */
  volumesAttached: Array<{ name: string }>;
  /** VolumeAttachments (all of them: those of other nodes are left out here). */
  attachments: V1VolumeAttachment[];
  persistentVolumes: V1PersistentVolume[];
  /** Pods on the node (before its drain, to say which used what). */
  pods: V1Pod[];
}

/** The volumes attached to a node, sorted by name. Pure. */
export function attachedVolumes(node: string, facts: VolumeFacts): AttachedVolume[] {
  const byCsi = new Map<string, V1PersistentVolume>();
  const byName = new Map<string, V1PersistentVolume>();
  for (const pv of facts.persistentVolumes) {
    if (pv.metadata?.name) byName.set(pv.metadata.name, pv);
    if (pv.spec?.csi) byCsi.set(`kubernetes.io/csi/${pv.spec.csi.driver}^${pv.spec.csi.volumeHandle}`, pv);
  }
  const found = new Map<string, V1PersistentVolume | undefined>();
  for (const va of facts.attachments) {
    if (va.spec?.nodeName !== node) continue;
    const pvName = va.spec.source?.persistentVolumeName;
    found.set(pvName ?? va.metadata?.name ?? '', pvName ? byName.get(pvName) : undefined);
  }
  for (const { name } of facts.volumesAttached) {
    const pv = byCsi.get(name);
    found.set(pv?.metadata?.name ?? name, pv);
  }
  return [...found.entries()]
    .map(([name, pv]): AttachedVolume => {
      const ref = pv?.spec?.claimRef;
      const claim = ref?.name ? `${ref.namespace ?? ''}/${ref.name}` : undefined;
      return { name, ...(claim ? { claim } : {}), pods: claim ? podsUsing(claim, facts.pods) : [] };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The pods that use a claim: by name, or through a generic ephemeral volume (claim POD-VOLUME). */
function podsUsing(claim: string, pods: V1Pod[]): string[] {
  const [namespace, name] = claim.split('/') as [string, string];
  return pods
    .filter(
      (p) =>
        p.metadata?.namespace === namespace &&
        (p.spec?.volumes ?? []).some(
          (v) =>
            v.persistentVolumeClaim?.claimName === name ||
            (v.ephemeral !== undefined && `${p.metadata?.name}-${v.name}` === name),
        ),
    )
    .map((p) => `${namespace}/${p.metadata?.name ?? ''}`)
    .sort();
}

/** The pods that used each volume, known from before the drain, added to what is seen now (the pods are gone). */
export function withEarlierPods(now: AttachedVolume[], before: readonly AttachedVolume[]): AttachedVolume[] {
  return now.map((v) => {
    const earlier = before.find((b) => b.name === v.name);
    return earlier ? { ...v, pods: [...new Set([...v.pods, ...earlier.pods])].sort() } : v;
  });
}

/** One volume for people: NAME (claim NS/NAME, used by NS/POD). */
export function describeVolume(v: AttachedVolume): string {
  const parts = [v.claim ? `claim ${v.claim}` : '', v.pods.length ? `used by ${v.pods.join(', ')}` : ''].filter(
    Boolean,
  );
  return `${v.name}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** Several volumes for people: "2 volumes: a (claim ...), b". */
export function describeVolumes(volumes: readonly AttachedVolume[]): string {
  return `${volumes.length} ${plural(volumes.length, 'volume')}: ${firstAndMore(volumes.map(describeVolume), 5)}`;
}
