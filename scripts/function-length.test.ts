// No function in services/ longer than 80 lines (issue #35), checked without any service by
// reading every services/*/src/**/*.ts file (tests excluded) with the TypeScript compiler API.
//
// What counts as a function: function declarations and expressions, arrow functions, methods,
// constructors and accessors. How it is measured: from the function's first line to its last,
// minus the lines taken by the functions nested in it (each nested function is measured on its
// own). So a factory returning small closures is measured by its own code, and a long callback
// is named on its own rather than charged to the function that passes it.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const LIMIT = 80;

// What still exceeds the limit, as "file:name". Each entry is a debt, not a permission: the goal
// is an empty list, and an entry whose function is back under the limit fails the test below so
// the list cannot go stale.
const ALLOWED = new Set<string>([]);

const root = join(import.meta.dir, "..");

export interface FunctionLength {
  file: string;
  line: number;
  name: string;
  length: number;
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** The name a reader would search for: its own, the variable or property holding it, or the call it is passed to. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return "constructor";
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText(source).slice(0, 40)}>`;
  return "<anonymous>";
}

/** Every function in one source text with its own length (nested functions' lines left out). */
export function functionLengths(file: string, text: string): FunctionLength[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const found: FunctionLength[] = [];
  // Returns the number of lines the function spans, so its parent can subtract them.
  const measure = (fn: ts.FunctionLikeDeclaration): number => {
    const first = lineOf(fn.getStart(source));
    const last = lineOf(fn.getEnd());
    let nested = 0;
    const walk = (node: ts.Node): void => {
      if (isFunction(node)) nested += measure(node);
      else ts.forEachChild(node, walk);
    };
    ts.forEachChild(fn, walk);
    const span = last - first + 1;
    found.push({ file, line: first + 1, name: nameOf(fn, source), length: span - nested });
    return span;
  };
  const visit = (node: ts.Node): void => {
    if (isFunction(node)) measure(node);
    else ts.forEachChild(node, visit);
  };
  visit(source);
  return found.sort((a, b) => a.line - b.line);
}

function serviceSources(): string[] {
  const files: string[] = [];
  for (const file of new Bun.Glob("services/*/src/**/*.ts").scanSync({ cwd: root })) {
    if (file.endsWith(".test.ts")) continue;
    files.push(file);
  }
  return files.sort();
}

const key = (f: FunctionLength) => `${f.file}:${f.name}`;

describe("function length", () => {
  test("the measure leaves nested functions' lines to them", () => {
    const text = [
      "export function outer() {", // 1
      "  const a = 1;", // 2
      "  const inner = () => {", // 3
      "    return a;", // 4
      "  };", // 5
      "  return inner;", // 6
      "}", // 7
      "class C {",
      "  m() {",
      "    return [1].map(function named(x) {",
      "      return x;",
      "    });",
      "  }",
      "}",
    ].join("\n");
    const got = functionLengths("x.ts", text).map((f) => [f.name, f.line, f.length]);
    expect(got).toEqual([
      ["outer", 1, 4],
      ["inner", 3, 3],
      ["m", 9, 2],
      ["named", 10, 3],
    ]);
  });

  const all = serviceSources().flatMap((file) =>
    functionLengths(file, readFileSync(join(root, file), "utf8")),
  );
  // `FUNCTION_LENGTH_OVER=60 bun test scripts/function-length.test.ts` prints every function over 60
  // lines, longest first: the list to work from when shortening them.
  const over = Number(process.env.FUNCTION_LENGTH_OVER);
  if (over > 0)
    for (const f of all.filter((f) => f.length > over).sort((a, b) => b.length - a.length))
      console.log(`${f.length}\t${f.file}:${f.line}:${f.name}`);

  test("reads the services' sources", () => {
    expect(all.length).toBeGreaterThan(100);
  });

  test(`no function in services/*/src is over ${LIMIT} lines unless allowlisted`, () => {
    const over = all.filter((f) => f.length > LIMIT && !ALLOWED.has(key(f)));
    expect(over.map((f) => `${f.file}:${f.line}:${f.name}:${f.length}`)).toEqual([]);
  });

  test("every allowlist entry is still a function over the limit", () => {
    const stillLong = new Set(all.filter((f) => f.length > LIMIT).map(key));
    expect([...ALLOWED].filter((entry) => !stillLong.has(entry))).toEqual([]);
  });
});
