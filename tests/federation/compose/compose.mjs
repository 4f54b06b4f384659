// Composes subgraph SDL files with Apollo's own composition library (an independent
// check of the hub's federation output): `node compose.mjs name=file.graphql ...` prints
// the supergraph SDL, or the composition errors on stderr and exits 1.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const services = process.argv.slice(2).map((argument) => {
  const [name, file, url] = argument.split("=");
  return { name, url: url ?? `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(file, "utf8")) };
});
if (services.length === 0) {
  console.error("usage: node compose.mjs <name>=<sdl file>[=<url>] ...");
  process.exit(2);
}
const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) console.error(`${error.extensions?.code ?? "ERROR"}: ${error.message}`);
  process.exit(1);
}
for (const hint of result.hints ?? []) console.error(`hint ${hint.definition.code}: ${hint.message}`);
process.stdout.write(result.supergraphSdl);
