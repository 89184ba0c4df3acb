"""The HTML report's stylesheet: screen and print (A4, tables that break between rows, colours kept)."""

CSS = """
:root { --ink:#1d2330; --muted:#5b6577; --line:#d8dde6; --accent:#2f5d9e; --warn:#b3261e; --soft:#f4f6fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1100px; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 34px 0 8px; padding-top: 10px; border-top: 2px solid var(--accent); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 16px; }
p.note, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.sql { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 11.5px; white-space: pre-wrap;
  word-break: break-word; max-width: 460px; }
table.facts th { width: 220px; background: none; }
table.facts td { overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px;
  background: var(--soft); }
.card b { display: block; font-size: 22px; }
a.card { color: inherit; text-decoration: none; }
.flag { color: var(--warn); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure { margin: 8px 0; break-inside: avoid; }
figcaption { color: var(--muted); font-size: 12px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart .mark { fill: var(--accent); }
svg.chart .mark.outside { fill: var(--warn); }
svg.chart .mark.inside { fill: #9db3d6; }
svg.chart .axis { stroke: var(--ink); stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart text { font-size: 11px; fill: var(--ink); }
svg.chart .tick, svg.chart .value { fill: var(--muted); }
ul.indices { columns: 4 210px; list-style: none; padding: 0; margin: 4px 0 12px; font-size: 12px; }
ul.indices li { display: flex; justify-content: space-between; gap: 8px; padding: 1px 6px;
  border-bottom: 1px solid var(--line); break-inside: avoid; }
ul.indices b { font-weight: 600; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; word-break: break-all; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media (max-width: 800px) { .charts { grid-template-columns: 1fr; } }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  tr, .card { break-inside: avoid; }
  thead { display: table-header-group; }
  .charts { grid-template-columns: 1fr 1fr; }
  td.sql { max-width: none; }
}
"""
