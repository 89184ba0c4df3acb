// The IAM decision for each request of the contract test, by @cloud-copilot/iam-simulate: AWS's documented policy
// evaluation logic (identity and resource policies, every condition operator, KMS key policies that must allow
// IAM), validating actions, resource ARNs and context keys against the service authorization reference.
//
// stdin: {"requests": [{id, principal, action, resource, account, context, identityPolicies, resourcePolicy}]}
// stdout: {"results": {id: {decision, allowStatements, errors, ignoredContextKeys, engine}}}
'use strict'
const { runSimulation, runUnsafeSimulation } = require('@cloud-copilot/iam-simulate')
const { createValidatedPolicy, validateResourcePolicy } = require('@cloud-copilot/iam-policy')

// iam-simulate's validated path drops context keys with a variable part after a colon
// (kms:EncryptionContext:<key>: it matches variable keys by '/'), so a decision that needs one is taken by the
// unvalidated engine instead, once the validated run has checked the action, the resource and the policies.
const VARIABLE_AFTER_COLON = /^kms:encryptioncontext:.+/i

function simulation(r) {
  return {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.context || {}
    },
    identityPolicies: r.identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy || undefined
  }
}

function statements(analysis) {
  const out = []
  for (const part of ['identityAnalysis', 'resourceAnalysis']) {
    for (const s of (analysis && analysis[part] && analysis[part].allowStatements) || []) {
      out.push({ policyId: s.policyId, statement: s.statement })
    }
  }
  return out
}

async function evaluate(r) {
  const sim = simulation(r)
  const checked = await runSimulation(sim, {})
  if (checked.errors) {
    return { decision: 'Error', errors: checked.errors, allowStatements: [] }
  }
  const ignored = checked.result.ignoredContextKeys || []
  if (ignored.length && ignored.every((k) => VARIABLE_AFTER_COLON.test(k))) {
    const unsafe = {
      ...sim,
      resourcePolicy: r.resourcePolicy
        ? createValidatedPolicy(r.resourcePolicy, validateResourcePolicy, { name: 'resource policy' })
        : undefined
    }
    const decision = runUnsafeSimulation(unsafe, {}) // this engine answers the decision only
    // which identity statements allow it: each one on its own, with the same resource policy
    const allowStatements = []
    if (decision === 'Allowed') {
      for (const p of r.identityPolicies) {
        for (const statement of [p.policy.Statement].flat()) {
          const single = [{ name: p.name, policy: { Version: '2012-10-17', Statement: [statement] } }]
          if (runUnsafeSimulation({ ...unsafe, identityPolicies: single }, {}) === 'Allowed') {
            allowStatements.push({ policyId: p.name, statement })
          }
        }
      }
    }
    return { decision, allowStatements, ignoredContextKeys: [], engine: 'unsafe' }
  }
  const analysis = checked.result.analysis
  return {
    decision: analysis.result,
    allowStatements: statements(analysis),
    ignoredContextKeys: ignored,
    engine: 'validated'
  }
}

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const { requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const results = {}
  for (const r of requests) {
    try {
      results[r.id] = await evaluate(r)
    } catch (e) {
      results[r.id] = { decision: 'Error', errors: { message: String(e && e.message) }, allowStatements: [] }
    }
  }
  process.stdout.write(JSON.stringify({ results }))
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e))
  process.exit(1)
})
