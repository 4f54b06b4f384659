// Apollo's gateway over the connectors' subgraphs: `node gateway.mjs <supergraph file>
// <port>` serves the composed graph at http://127.0.0.1:<port>/ and prints `ready <url>`.
// It forwards the caller's token and purpose to every subgraph, which checks them itself.
// @apollo/gateway refuses a supergraph linking a `for: SECURITY` feature it cannot
// enforce (@requiresScopes: only Apollo Router's licensed edition enforces it); our
// subgraphs enforce every scope themselves, so this gateway drops that link and keeps
// the directive as documentation.
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

const SECURITY_LINK = /^\s*@link\(url: "https:\/\/specs\.apollo\.dev\/requiresScopes\/[^"]+", for: SECURITY\)$/m;
const FORWARDED = ["authorization", "x-purpose", "x-purpose-reference"];
const [supergraphFile, port] = process.argv.slice(2);
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphFile, "utf8").replace(SECURITY_LINK, ""),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request, context }) {
        for (const name of FORWARDED) {
          if (context.headers?.[name]) request.http.headers.set(name, context.headers[name]);
        }
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
  context: async ({ req }) => ({ headers: req.headers }),
});
console.log(`ready ${url}`);
