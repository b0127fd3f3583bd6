import type { AccessReport } from './access-report.js';
import type { DataMap, PlaceRef } from './data-map.js';
import type { Location } from './location.js';
import type { ResidencyRules } from './rules.js';

/**
 * Self-contained HTML reports: one file, inline CSS, no script, no external asset (it opens from a
 * USB stick on an air-gapped machine, and prints). The report's JSON rides along in a non-executed
 * `application/json` block so a tool can re-read exactly what the page shows.
 */

const esc = (v: unknown): string =>
  String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const STYLE = `
:root { font-family: system-ui, "Noto Sans CJK JP", "Hiragino Sans", sans-serif; color: #1d232a; }
body { margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 2px solid #d0d7de; padding-bottom: .25rem; }
.meta { color: #57606a; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.ok { color: #116329; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: .75rem; font-size: .8rem; font-weight: 600; }
.badge.ok { background: #dafbe1; } .badge.bad { background: #ffebe9; } .badge.warn { background: #fff8c5; color: #7d4e00; }
.clear { background: #dafbe1; } .masked { background: #fff8c5; } .withheld { color: #8c959f; }
.cards { display: flex; gap: .75rem; flex-wrap: wrap; } .card { border: 1px solid #d0d7de; border-radius: .5rem; padding: .5rem .9rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; } code, pre { font-family: ui-monospace, monospace; font-size: .8rem; } pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; }
details { margin: .25rem 0; } summary { cursor: pointer; }
@media print { details { display: block; } }
`;

function page(title: string, body: string, data: unknown): string {
  // `<` is escaped so the JSON cannot close its block.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>${body}
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}

function place(l: PlaceRef): string {
  if ('unregistered' in l) return `<code>${esc(l.id)}</code> <span class="badge bad">no longer registered</span>`;
  return `<code>${esc(l.id)}</code>: ${esc(l.country)}${l.region ? ` / ${esc(l.region)}` : ' / <i>region not declared</i>'}, provider ${esc(l.provider)}, operated by ${esc(l.operator)} under ${esc(l.jurisdiction)} law`;
}

function locationRow(role: string, l: Location, extra = ''): string {
  return `<tr><th>${esc(role)}</th><td><code>${esc(l.id)}</code>${l.id === 'local' ? ' <span class="badge warn">default: not declared</span>' : ''}</td><td>${esc(l.country)}</td><td>${l.region ? esc(l.region) : '<i>—</i>'}</td><td>${esc(l.provider)}${extra}</td><td>${esc(l.operator)}</td><td>${esc(l.jurisdiction)}</td><td>${esc(l.holds.join(', '))}</td></tr>`;
}

function rulesText(r: ResidencyRules): string {
  const parts: string[] = [];
  for (const kind of ['ciphertext', 'keys'] as const) {
    const rule = r[kind];
    if (!rule) continue;
    const lists = Object.entries(rule).map(([k, v]) => `${esc(k)} ∈ {${(v as string[]).map(esc).join(', ')}}`);
    parts.push(`<b>${kind}</b>: ${lists.length > 0 ? lists.join('; ') : 'anywhere'}`);
  }
  return parts.length > 0 ? parts.join('<br>') : '<i>no rules</i>';
}

export function renderDataMapHtml(map: DataMap): string {
  const status = map.compliant ? '<span class="badge ok">every rule holds</span>' : '<span class="badge bad">RULE VIOLATED</span>';
  const collections = map.collections
    .map((c) => {
      const classes = Object.entries(c.classifications)
        .filter(([, v]) => v.fields.length > 0)
        .map(([k, v]) => `${esc(k)}: ${v.records} records (${v.fields.length} field${v.fields.length === 1 ? '' : 's'})`)
        .join('<br>');
      const verdict = (v: { rule: string } | null) => (v ? `<span class="bad">violates ${esc(v.rule)}</span>` : '<span class="ok">allowed</span>');
      const exports =
        c.exports.length === 0
          ? '<i>none</i>'
          : c.exports.map((e) => `${esc(e.at)}: ${e.records ?? '?'} records (${esc(e.format)}) → ${place(e.location)}`).join('<br>');
      return `<tr><th><code>${esc(c.name)}</code></th><td>${c.records}</td><td>${classes || '<i>no fields</i>'}</td><td>${place(c.ciphertext.location)}<br>${verdict(c.ciphertext.violation)}</td><td>${place(c.keys.location)} (${esc(c.keys.providerKind)})<br>${verdict(c.keys.violation)}</td><td>${rulesText(c.rules)}</td><td>${exports}</td></tr>`;
    })
    .join('\n');
  const backup = map.lastBackup ? `${esc(map.lastBackup.at)} → ${place(map.lastBackup.location)} (backup <code>${esc(map.lastBackup.pair)}</code>)` : '<i>no backup recorded</i>';
  const byClass = Object.entries(map.recordsByClassification)
    .map(([k, v]) => `<div class="card"><span>${esc(k)}</span><b>${v}</b>records</div>`)
    .join('');
  const body = `
<h1>Data map — ${esc(map.tenant.name)} (${esc(map.tenant.id)})</h1>
<p class="meta">Kuraban data map, generated ${esc(map.generatedAt)}. ${status}</p>
<h2>Where the vault is</h2>
<table><thead><tr><th>What</th><th>Location</th><th>Country</th><th>Region</th><th>Provider</th><th>Operator</th><th>Governing law</th><th>Holds</th></tr></thead><tbody>
${locationRow('Ciphertext (store)', map.store)}
${locationRow('Keys (root key provider)', map.keys, ` <span class="meta">(${esc(map.keys.providerKind)})</span>`)}
</tbody></table>
<h2>Records by classification</h2><div class="cards">${byClass}</div>
<h2>Collections</h2>
<table><thead><tr><th>Collection</th><th>Records</th><th>Classifications</th><th>Ciphertext lives in</th><th>Keys live in</th><th>Residency rules</th><th>Plaintext exports</th></tr></thead><tbody>
${collections || '<tr><td colspan="7"><i>no collections</i></td></tr>'}
</tbody></table>
<h2>Last backup</h2><p>${backup}</p>`;
  return page(`Data map — ${map.tenant.name}`, body, map);
}

export function renderAccessReportHtml(r: AccessReport): string {
  const fields = r.fields.map((f) => f.name);
  const canRows = r.whoCan.rows
    .map(
      (row) =>
        `<tr><th><code>${esc(row.label)}</code></th><td>${row.purpose === null ? '<i>none</i>' : esc(row.purpose)}</td>${fields
          .map((f) => {
            const a = row.fields[f] ?? 'withheld';
            return `<td class="${esc(a)}">${esc(a)}</td>`;
          })
          .join('')}<td>${Object.entries(row.actions)
          .filter(([, v]) => v)
          .map(([k]) => esc(k))
          .join(', ')}</td></tr>`,
    )
    .join('\n');
  const didRows = r.whoDid
    .map(
      (p) =>
        `<tr><th><code>${esc(p.principal)}</code> <span class="meta">${esc(p.auth)}</span></th><td>${p.roles.map(esc).join(', ') || '<i>—</i>'}</td><td>${Object.entries(p.purposes)
          .map(([k, v]) => `${esc(k)} (${v})`)
          .join(', ') || '<i>—</i>'}</td><td>${p.accesses}</td><td>${p.records}</td><td>${p.subjects}</td><td class="${p.myNumber.accesses > 0 ? 'bad' : ''}">${p.myNumber.accesses} / ${p.myNumber.records}</td><td class="${p.night > 0 ? 'bad' : ''}">${p.night}</td><td class="${p.holiday > 0 ? 'bad' : ''}">${p.holiday}</td><td>${p.refused}</td></tr>`,
    )
    .join('\n');
  const flagged = r.flagged
    .map(
      (f) =>
        `<tr><td>${f.index}</td><td>${esc(f.timeJst)}</td><td><code>${esc(f.principal)}</code></td><td>${esc(f.action)}</td><td>${f.purpose === null ? '<i>none</i>' : esc(f.purpose)}</td><td>${f.records}</td><td>${[f.night ? 'night' : '', f.closedDay ?? '', f.myNumber ? 'My Number' : ''].filter(Boolean).map(esc).join(', ')}</td></tr>`,
    )
    .join('\n');
  const subjects = r.subjects
    .map(
      (s) =>
        `<details><summary><code>${esc(s.subject)}</code>: read ${s.reads.length} time${s.reads.length === 1 ? '' : 's'} by ${[...new Set(s.reads.map((x) => x.principal))].map(esc).join(', ')}</summary><table><thead><tr><th>Entry</th><th>Time (UTC)</th><th>Principal</th><th>Action</th><th>Purpose</th><th>Fields</th><th>Inclusion proof</th></tr></thead><tbody>${s.reads
          .map(
            (x) =>
              `<tr><td>${x.index}</td><td>${esc(x.time)}</td><td><code>${esc(x.principal)}</code></td><td>${esc(x.action)}</td><td>${x.purpose === null ? '<i>none</i>' : esc(x.purpose)}</td><td>${x.fields.map(esc).join(', ')}</td><td><code>${x.proof.map(esc).join('<br>') || '(single-entry tree)'}</code></td></tr>`,
          )
          .join('')}</tbody></table></details>`,
    )
    .join('\n');
  const t = r.totals;
  const card = (label: string, v: number | string, bad = false) => `<div class="card${bad ? ' bad' : ''}"><span>${esc(label)}</span><b>${esc(v)}</b></div>`;
  const body = `
<h1>Access report — ${esc(r.collection)} — ${esc(r.tenant.name)} (${esc(r.tenant.id)})</h1>
<p class="meta">Period ${esc(r.period.from)} to ${esc(r.period.to)} (end excluded). Generated ${esc(r.generatedAt)} from policy version ${r.whoCan.policyVersion} and the access log up to its checkpoint of ${r.log.size} entries.</p>
<div class="cards">${card('reads', t.accesses)}${card('records read', t.records)}${card('subjects read', t.subjects)}${card('My Number reads (records)', `${t.myNumber.accesses} (${t.myNumber.records})`, t.myNumber.accesses > 0)}${card('night reads', t.night, t.night > 0)}${card('holiday reads', t.holiday, t.holiday > 0)}${card('refused', t.refused)}</div>
<h2>Who can — from the policy</h2>
<table><thead><tr><th>Principal</th><th>Purpose</th>${r.fields.map((f) => `<th>${esc(f.name)}<br><span class="meta">${esc(f.classification)}</span></th>`).join('')}<th>Actions</th></tr></thead><tbody>
${canRows}
</tbody></table>
<h2>Who did — from the access log</h2>
<table><thead><tr><th>Principal</th><th>Roles</th><th>Purposes (reads)</th><th>Reads</th><th>Records</th><th>Subjects</th><th>My Number reads / records</th><th>Night</th><th>Holiday</th><th>Refused</th></tr></thead><tbody>
${didRows || '<tr><td colspan="10"><i>no access in this period</i></td></tr>'}
</tbody></table>
<h2>Night and holiday reads</h2>
<p class="meta">Night: 22:00–06:00 JST. Holiday: national holidays (@holiday-jp/holiday_jp), Saturdays, Sundays and 29 December–3 January.</p>
<table><thead><tr><th>Entry</th><th>Time (JST)</th><th>Principal</th><th>Action</th><th>Purpose</th><th>Records</th><th>Why flagged</th></tr></thead><tbody>
${flagged || '<tr><td colspan="7"><i>none</i></td></tr>'}
</tbody></table>
<h2>Who read each person's data</h2>
<p class="meta">Each entry's inclusion proof (RFC 6962, hashes in hex) is against the checkpoint below; check them with any RFC 6962 verifier and the log's public key.</p>
${subjects || '<p><i>no subject was read in this period</i></p>'}
<h2>Checkpoint</h2>
<p class="meta">Log <code>${esc(r.log.origin)}</code>, verifier key <code>${esc(r.log.verifierKey)}</code></p>
<pre>${esc(r.log.checkpoint)}</pre>`;
  return page(`Access report — ${r.collection}`, body, r);
}
