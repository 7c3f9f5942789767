// Validate Kubernetes objects (JSON on stdin or in files: one object, a List,
// or several concatenated objects) against the OpenAPI schemas shipped in the
// npm package kubernetes-models.  Exit 0 when all are valid, 1 otherwise,
// printing each validation error.  Usage: node validate-manifest.mjs [FILE...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);

const kinds = {
  "batch/v1 Job": ["kubernetes-models/batch/v1", "Job"],
  "v1 PersistentVolumeClaim": ["kubernetes-models/v1", "PersistentVolumeClaim"],
  "v1 ConfigMap": ["kubernetes-models/v1", "ConfigMap"],
  "v1 Secret": ["kubernetes-models/v1", "Secret"],
  "v1 Pod": ["kubernetes-models/v1", "Pod"],
};

function splitObjects(text) {
  // Concatenated JSON values (kubectl-style streams) or a single value.
  const out = [];
  let depth = 0, start = -1, inStr = false, esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) { if (esc) esc = false; else if (c === "\\") esc = true; else if (c === '"') inStr = false; continue; }
    if (c === '"') inStr = true;
    else if (c === "{") { if (depth++ === 0) start = i; }
    else if (c === "}") { if (--depth === 0) out.push(JSON.parse(text.slice(start, i + 1))); }
  }
  return out;
}

const inputs = process.argv.length > 2
  ? process.argv.slice(2).map((f) => readFileSync(f, "utf8"))
  : [readFileSync(0, "utf8")];
let objects = [];
for (const t of inputs) objects.push(...splitObjects(t));
objects = objects.flatMap((o) => (o.kind && o.kind.endsWith("List") && Array.isArray(o.items) ? o.items : [o]));
if (objects.length === 0) { console.error("validate-manifest: no objects in input"); process.exit(1); }
let bad = 0;
for (const o of objects) {
  const key = `${o.apiVersion} ${o.kind}`;
  const where = `${o.kind}/${o.metadata?.name ?? o.metadata?.generateName ?? "?"}`;
  const k = kinds[key];
  if (!k) { console.error(`${where}: no schema for ${key}`); bad++; continue; }
  const Model = require(k[0])[k[1]];
  try { new Model(o).validate(); console.log(`valid ${where}`); }
  catch (e) { bad++; console.error(`invalid ${where}: ${e.message}`); }
}
process.exit(bad ? 1 : 0);
