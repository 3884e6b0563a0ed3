// The docs' own rules (issue #35), checked without any service: every relative link of the README
// and docs/ resolves (file and #anchor), the README reads at a glance (under 250 lines), every
// docs page is a guide (under 300 lines), and no SQL comment carries a timing: measurement
// history lives in docs/benchmarks.md only.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { alertRules, loadThresholds } from "./lib/alert-rules.ts";

const root = join(import.meta.dir, "..");
const docs = join(root, "docs");
const pages = [
  join(root, "README.md"),
  ...readdirSync(docs)
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(docs, f)),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string)
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    for (const m of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) links.push(m[1] as string);
  }
  return links;
}

describe("README and docs", () => {
  test("every relative link resolves, anchors included", () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, "utf8");
      for (const link of linksOf(text)) {
        if (/^[a-z]+:/i.test(link)) continue;
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? page : join(dirname(page), path);
        if (!existsSync(target)) {
          broken.push(`${relative(root, page)}: ${link} (no such file)`);
          continue;
        }
        if (anchor && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor))
          broken.push(`${relative(root, page)}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("the README is under 250 lines, every docs page under 300", () => {
    const long: string[] = [];
    for (const page of pages) {
      const lines = readFileSync(page, "utf8").split("\n").length;
      const limit = page.endsWith("README.md") ? 250 : 300;
      if (lines >= limit) long.push(`${relative(root, page)}: ${lines} lines (limit ${limit})`);
    }
    expect(long).toEqual([]);
  });

  test("the alert rules' runbook anchors exist in docs/operations.md", () => {
    const anchors = anchorsOf(readFileSync(join(docs, "operations.md"), "utf8"));
    const runbooks = alertRules(loadThresholds({})).map((r) => r.annotations.runbook);
    expect(runbooks.length).toBeGreaterThan(0);
    expect(runbooks.filter((r) => !anchors.has(r.replace("docs/operations.md#", "")))).toEqual([]);
  });
});

test("no SQL comment carries a timing figure (measurement history belongs in docs/benchmarks.md)", () => {
  const timing = /\d[\d,.]*\s?(ms|s|µs|us|sec|seconds|minutes|min)\b|rows\/s|MB\/s|\d\s?x (faster|slower)/;
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".sql"))
        readFileSync(path, "utf8")
          .split("\n")
          .forEach((line, i) => {
            const comment = line.indexOf("--");
            if (comment >= 0 && timing.test(line.slice(comment)))
              found.push(`${relative(root, path)}:${i + 1}`);
          });
    }
  };
  walk(join(root, "shared"));
  walk(join(root, "services"));
  expect(found).toEqual([]);
});
