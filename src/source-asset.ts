/**
 * A file that is not TypeScript (a sh program, a CommonJS module) beside a module of src/: its URL
 * in the source tree, also when the module runs compiled from dist/. tsc does not copy such files,
 * and a copy could be older than its source; the sources ship in the checkout and in the package.
 */
export function sourceAsset(moduleUrl: string, name: string): URL {
  const here = new URL('.', moduleUrl);
  const at = here.pathname.lastIndexOf('/dist/src/');
  const dir = at < 0 ? here : new URL(`file://${here.pathname.slice(0, at)}/src/${here.pathname.slice(at + 10)}`);
  return new URL(name, dir);
}
