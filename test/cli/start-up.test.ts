// What `cellos` loads before it knows the command: the entry, the command table, flags, help and the
// error map. None of it may load a package, the Temporal SDK above all (`cellos bundle` and `--help`
// stay fast); each handler loads its own modules when it runs.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/command-table.ts';
import { isGroup, type Command } from '../../src/cli/command.ts';
import { repoRoot } from '../helpers/host.ts';

/** Module specifiers loaded when `file` is imported: static imports and re-exports, `import type` left out. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const out: string[] = [];
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      out.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier) {
      out.push((node.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

/** Every package the static import graph from `entry` reaches, with the module that imports it. */
function packagesLoadedBy(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !packages.has(spec)) packages.set(spec, file.slice(repoRoot.length + 1));
    }
  };
  visit(entry);
  return packages;
}

describe('cellos start-up', () => {
  it('loads no package (no Temporal SDK, execa or zod) before a handler runs', () => {
    expect([...packagesLoadedBy(join(repoRoot, 'src', 'cli', 'main.ts'))]).toEqual([]);
  });
});

describe('the command table', () => {
  const all: [string, Command<unknown>][] = Object.entries(commands).flatMap(([name, c]) =>
    isGroup(c)
      ? Object.entries(c.subcommands).map(([sub, s]): [string, Command<unknown>] => [`${name} ${sub}`, s])
      : [[name, c]],
  );

  it.each(all)('declares a usage for %s that starts with its own name', (name, c) => {
    expect(c.usage.startsWith(`cellos ${name}`)).toBe(true);
  });
});
