type Json = Record<string, unknown>;

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const pretty = (v: unknown): string => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}.desc{white-space:pre-wrap;color:#444}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:12px 0;padding:12px 16px}
.m{display:inline-block;min-width:64px;text-align:center;font-weight:700;border-radius:4px;padding:2px 6px;color:#fff;margin-right:8px}
.get{background:#2f7d32}.post{background:#1565c0}.put{background:#b26a00}.delete{background:#c62828}.patch{background:#6a1b9a}
code.path{font-size:16px}.auth{float:right;font-size:12px;color:#555;border:1px solid #ccc;border-radius:10px;padding:0 8px}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border-top:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
pre{background:#f3f4f6;padding:8px;border-radius:4px;overflow:auto;font-size:12px;margin:4px 0}
summary{cursor:pointer;color:#1565c0}`;

/** The OpenAPI document as a self-contained HTML page: no script, no CDN, works offline. */
export function renderDocsPage(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const security = op.security as Record<string, string[]>[] | undefined;
      const auth = path.startsWith('/api/v1/admin')
        ? 'admin token'
        : security?.length
          ? 'bearer token'
          : 'public';
      const params = (op.parameters ?? []) as Json[];
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const responses = (op.responses ?? {}) as Record<string, Json>;
      sections.push(`<section id="${esc(op.operationId)}">
<span class="auth">${esc(auth)}</span><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span><code class="path">${esc(path)}</code>
<p>${esc(op.summary ?? '')}</p>${op.description ? `<p class="desc">${esc(op.description)}</p>` : ''}
${
  params.length
    ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${params
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${esc(JSON.stringify(p.schema))}</code>${p.description ? `<br>${esc(p.description)}` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
${body ? `<details><summary>request body</summary>${pretty(body['application/json']?.schema)}</details>` : ''}
<table><tr><th>status</th><th>meaning</th></tr>${Object.entries(responses)
        .map(
          ([status, r]) =>
            `<tr><td>${esc(status)}</td><td>${esc(r.description)}${
              r.content ? `<details><summary>schema</summary>${pretty(r.content)}</details>` : ''
            }</td></tr>`,
        )
        .join('')}</table>
</section>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(info.title)} — API</title><style>${STYLE}</style></head>
<body><main><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1>
<p class="desc">${esc(info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)})</p>
${sections.join('\n')}
</main></body></html>`;
}
