// Runs shellcheck over every bash file of the project (host scripts, test stand-ins, CI) and fails on any finding.
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["components/scripts", "tests", ".ci", "bench"];

function bashFiles(dir) {
    let entries;
    try {
        entries = readdirSync(dir);
    } catch {
        return [];
    }
    return entries.flatMap((entry) => {
        const path = join(dir, entry);
        if (entry === "node_modules") return [];
        if (statSync(path).isDirectory()) return bashFiles(path);
        if (path.endsWith(".sh")) return [path];
        const head = readFileSync(path, "utf8").slice(0, 40);
        return head.startsWith("#!/usr/bin/env bash") || head.startsWith("#!/bin/bash") ? [path] : [];
    });
}

const files = roots.flatMap(bashFiles).sort();
try {
    execFileSync("shellcheck", ["--version"], { stdio: "ignore" });
} catch {
    console.error("shellcheck is not installed: `apt-get install shellcheck` (.ci/run does this).");
    process.exit(1);
}
const result = spawnSync("shellcheck", ["--severity=style", "--external-sources", "--shell=bash", ...files], {
    stdio: "inherit",
});
console.log(`shellcheck: ${files.length} files, ${result.status === 0 ? "no findings" : "findings above"}`);
process.exit(result.status ?? 1);
