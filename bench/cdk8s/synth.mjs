// P1 baseline: the objects moorage compiles for N tenants (read from a JSON file written beforehand
// by `compile_tenants --json`), declared as plain cdk8s ApiObjects, one Chart per tenant, and written
// as YAML by app.synth(). Timed from outside the process, start-up included, like moorage's run.
//   node synth.mjs OBJECTS.json OUT_DIR [--one-file]
import { readFileSync } from "node:fs";
import { App, Chart, ApiObject, YamlOutputType } from "cdk8s";

const [input, outdir, flag] = process.argv.slice(2);
const tenants = JSON.parse(readFileSync(input, "utf8")); // [{ tenant, objects: [...] }]
const app = new App({ outdir, yamlOutputType: flag === "--one-file" ? YamlOutputType.FILE_PER_APP : YamlOutputType.FILE_PER_CHART });
let count = 0;
for (const { tenant, objects } of tenants) {
  const chart = new Chart(app, tenant);
  objects.forEach((o, i) => {
    const { apiVersion, kind, metadata, ...rest } = o;
    new ApiObject(chart, `${kind}-${i}`, { apiVersion, kind, metadata, ...rest });
    count += 1;
  });
}
app.synth();
console.log(JSON.stringify({ tenants: tenants.length, objects: count }));
