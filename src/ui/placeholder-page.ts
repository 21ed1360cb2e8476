/**
 * The page at `/` until the web UI exists: it asks for an API key (kept in this browser
 * tab's sessionStorage only) and shows how many records of each signal the org has.
 */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sightline</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 44rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
  table { border-collapse: collapse; margin-top: 1rem; }
  td, th { padding: .3rem 1.2rem .3rem 0; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  input { width: 24rem; max-width: 100%; font: inherit; padding: .3rem; }
  .error { color: #c0392b; }
  code { background: rgba(127,127,127,.15); padding: 0 .2rem; }
</style>
</head>
<body>
<h1>Sightline</h1>
<p>Self-hosted observability for databases and the services around them. The full web UI is on its way;
this page shows what has been stored for your organization.</p>
<form id="key-form">
  <label for="key">API key</label><br>
  <input id="key" name="key" type="password" autocomplete="off" placeholder="sl_…" required>
  <button type="submit">Show counts</button>
</form>
<div id="out" aria-live="polite"></div>
<p>Send OTLP/HTTP to port 4318 with <code>Authorization: Bearer &lt;key&gt;</code>; query with
<code>GET /api/v1/logs</code>, <code>/api/v1/traces/{traceId}</code> and <code>/api/v1/metrics</code>.</p>
<script>
const out = document.getElementById('out');
const input = document.getElementById('key');
input.value = sessionStorage.getItem('sightline-key') || '';
async function show() {
  const key = input.value.trim();
  if (!key) return;
  sessionStorage.setItem('sightline-key', key);
  out.textContent = 'Loading…';
  try {
    const response = await fetch('/api/v1/stats', { headers: { authorization: 'Bearer ' + key } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    const rows = [['Log records', body.logs], ['Spans', body.spans], ['Metric points', body.metricPoints], ['Dead letters', body.deadLetters]];
    const table = document.createElement('table');
    table.innerHTML = '<tr><th>Signal</th><th>Records</th></tr>';
    for (const [name, count] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = name;
      const cell = tr.insertCell();
      cell.className = 'n';
      cell.textContent = Number(count).toLocaleString();
    }
    out.replaceChildren(table);
  } catch (error) {
    out.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = 'Could not load counts: ' + error.message;
    out.append(p);
  }
}
document.getElementById('key-form').addEventListener('submit', (event) => { event.preventDefault(); show(); });
show();
</script>
</body>
</html>
`;
