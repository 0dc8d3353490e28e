// Validates rendered manifests (kubectl kustomize DIR | node validate.mjs) against the Kubernetes schemas,
// offline, with kubernetes-models. Prints one line per object; exits 1 if any is invalid or of an unknown kind.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const text = readFileSync(process.argv[2] ?? 0, "utf8");
const documents = parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o);
let failures = 0;
for (const object of documents) {
  const { apiVersion, kind } = object;
  const name = `${kind}/${object.metadata?.name}`;
  // core/v1 lives at kubernetes-models/v1, apps/v1 at kubernetes-models/apps/v1, ...
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  let Model;
  try {
    Model = (await import(path))[kind];
  } catch {
    console.log(`INVALID ${name}: no schema for ${apiVersion} ${kind}`);
    failures++;
    continue;
  }
  // kustomize folds long base64 values over lines; the API server's decoder (Go's) skips the newlines, so do we.
  if (kind === "Secret" && object.data) {
    for (const key of Object.keys(object.data)) object.data[key] = String(object.data[key]).replace(/[\r\n]/g, "");
  }
  try {
    new Model(object).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`INVALID ${name}: ${e.message}`);
    failures++;
  }
}
console.log(`${documents.length - failures} of ${documents.length} objects valid`);
process.exit(failures > 0 || documents.length === 0 ? 1 : 0);
