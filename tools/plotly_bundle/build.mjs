// Bundles plotly.js's core with the trace types named on the command line, the way
// plotly.js builds its own dist files (esbuild, IIFE, global `Plotly`, ES2016, minified),
// without the `calendars` component that the dist's partial bundles carry.
//
// usage: node build.mjs OUT.js bar,contour,heatmap,...   (run by update.sh)
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const [out, traceList] = process.argv.slice(2);
if (!out || !traceList) {
  console.error("usage: node build.mjs OUT.js TRACE[,TRACE...]");
  process.exit(2);
}
const traces = traceList.split(",").filter((name) => name && name !== "scatter"); // core has scatter
for (const name of traces) {
  if (!/^[a-z0-9]+$/.test(name)) throw new Error(`not a trace type: ${name}`);
}
const version = JSON.parse(readFileSync("node_modules/plotly.js/package.json", "utf8")).version;
const entry = [
  "'use strict';",
  "var Plotly = require('plotly.js/lib/core');",
  `Plotly.register([${traces.map((t) => `require('plotly.js/lib/${t}')`).join(", ")}]);`,
  "module.exports = Plotly;",
].join("\n");
writeFileSync("entry.cjs", entry);

await build({
  entryPoints: ["entry.cjs"],
  outfile: out,
  format: "iife",
  globalName: "Plotly",
  bundle: true,
  minify: true,
  sourcemap: false,
  target: "es2016",
  legalComments: "none",
  // The one stylesheet plotly.js imports is maplibre's, for map traces, which this bundle has
  // none of (plotly.js's own build inlines it into the JS).
  loader: { ".css": "empty" },
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  banner: {
    js:
      `/**\n* plotly.js (course: scatter,${traces.join(",")} - minified) v${version}\n` +
      "* Copyright 2012-2025, Plotly, Inc.\n* All rights reserved.\n* Licensed under the MIT license\n*/",
  },
  logLevel: "warning",
});
console.log(`built ${out}: plotly.js ${version}, traces scatter,${traces.join(",")}`);
