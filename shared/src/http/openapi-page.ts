/**
 * The page's one script (allowed by its hash in the page's Content-Security-Policy, so no other
 * inline script can run): it reads `/openapi.json` and lists every operation, escaping every text.
 */
export const DOCS_SCRIPT = `
fetch("/openapi.json").then(r=>r.json()).then(doc=>{
  const esc=s=>String(s).replace(/[&<>]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;"}[c]));
  const out=[];
  for(const [path,ops] of Object.entries(doc.paths)) for(const [method,op] of Object.entries(ops)){
    const params=(op.parameters||[]).map(p=>"<tr><td><code>"+esc(p.name)+"</code></td><td>"+p.in+"</td><td>"+(p.required?"required":"")+"</td><td><code>"+esc(JSON.stringify(p.schema))+"</code></td></tr>").join("");
    const body=op.requestBody?"<p>Body</p><pre>"+esc(JSON.stringify(op.requestBody.content["application/json"].schema,null,2))+"</pre>":"";
    const res=Object.entries(op.responses).map(([s,r])=>"<li>"+s+" "+esc(r.description)+"</li>").join("");
    out.push("<details><summary><span class='m "+method+"'>"+method+"</span> <code>"+esc(path)+"</code> — "+esc(op.summary)+"</summary>"+(op.description?"<p>"+esc(op.description)+"</p>":"")+(params?"<table><tr><th>name</th><th>in</th><th></th><th>schema</th></tr>"+params+"</table>":"")+body+"<ul>"+res+"</ul></details>");
  }
  document.getElementById("ops").innerHTML=out.join("");
});
`;

/**
 * A self-contained API reference page: it reads `/openapi.json` and lists every operation with
 * its parameters and body schema. No CDN, so it works offline.
 */
export const docsPage = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}details{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0;padding:.4rem .8rem}
summary{cursor:pointer}code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f8fa;padding:.6rem;border-radius:6px;overflow:auto}
.m{display:inline-block;min-width:3.5rem;font-weight:600;text-transform:uppercase}
.get{color:#1a7f37}.post{color:#9a6700}.put,.delete{color:#cf222e}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left}
</style></head><body><h1>${title}</h1><p><a href="/openapi.json">openapi.json</a></p><div id="ops">loading…</div>
<script>${DOCS_SCRIPT}</script></body></html>`;
