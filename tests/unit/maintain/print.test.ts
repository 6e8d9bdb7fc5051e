/** study maintain's plan as people read it: the steps, and each step's PDBs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { PdbPlan } from '../../../src/drain/lib.js';
import type { MaintainReport } from '../../../src/maintain/model.js';
import { renderPlanSummary } from '../../../src/maintain/print.js';
import { pdbPlan } from '../../support/fake-drain.js';

function pdb(name: string, verdict: PdbPlan['verdict']): PdbPlan {
  return pdbPlan(name, 1, { namespace: 'demo', podsInDrain: 1, healthyInDrain: 1, verdict });
}

function report(order: string[][], pdbs: Array<PdbPlan & { step: number }>): MaintainReport {
  const step = { evict: 1, skip: 0, wait: 0, blocked: 0, movedAgain: 0, pending: [], uncertain: 0 };
  return {
    kind: 'MaintainReport',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'planned',
    nodes: [],
    plan: { order, blocked: [], pdbs, steps: order.map((nodes) => ({ nodes, ...step })) },
    degraded: [],
    warnings: [],
  };
}

test('the PDB table has a STEP column when the run has several steps, and says verdicts as the JSON does', () => {
  const two = renderPlanSummary(
    report(
      [['n1'], ['n2']],
      [
        { step: 1, ...pdb('web', 'at-once') },
        { step: 2, ...pdb('web', 'one-by-one') },
      ],
    ),
    ['n1', 'n2'],
    new Map(),
  );
  assert.match(
    two,
    /^STEP {3}PDB {8}PODS IN STEP .* VERDICT\n1 {6}demo\/web .* at-once\n2 {6}demo\/web .* one-by-one\n/m,
  );
  const one = renderPlanSummary(report([['n1', 'n2']], [{ step: 1, ...pdb('web', 'waits') }]), ['n1', 'n2'], new Map());
  assert.match(one, /^PDB {8}PODS IN STEP .* VERDICT\ndemo\/web .* waits\n/m);
  assert.doesNotMatch(one, /STEP {3}PDB/);
});
